"""Deployment benchmark: Keras vs SavedModel vs LiteRT fp32/fp16/int8.

For a teacher and a student, every artifact is exported with
`keras_pfs.export.export_model` (so each one has passed the parity gate) and
timed per image (batch 1, median of `repeats` calls after a warm-up) at
`input_size` (`benchmarks/configs/deploy.json`). LiteRT runs with its default
XNNPACK delegate at each `threads` count; Keras (a `tf.function` over the model)
and the SavedModel use TF's default thread pools on all cores. With
`--list_file`, every runtime is also scored (mIoU) on the first `num_images`
images resized to `input_size`.

Without `--teacher`/`--student`, untrained presets are built and the output
says so: latency and size are then meaningful, mIoU is not.

Usage:

    .venv/bin/python scripts/benchmark_deploy.py \
        --list_file /work/shared/datasets/camvid/val.txt \
        --calibration_list /work/shared/datasets/camvid/train.txt
    .venv/bin/python scripts/benchmark_deploy.py --smoke --output_dir /tmp/deploy
"""

import json
import os
import tempfile

import benchmark_harness as harness
from absl import app, flags

from keras_pfs.experiments import benchmark, records

harness.define_flags("deploy")
flags.DEFINE_string("teacher", None, "Teacher .keras; default untrained preset.")
flags.DEFINE_string("student", None, "Student .keras; default untrained preset.")
flags.DEFINE_string("list_file", None, "Score mIoU on this list file.")
flags.DEFINE_string("calibration_list", None, "int8 calibration list file.")
flags.DEFINE_string("output_dir", "benchmarks/deploy", "README.md and JSON here.")
FLAGS = flags.FLAGS

_UNTRAINED = " (untrained preset)"


def _artifacts(role, segmenter, source, samples, config, workdir):
    """Yields `(runtime, run, size_bytes, parity report or None)` per runtime."""
    from keras_pfs import export

    input_size, calibration, parity, _ = samples
    # Untrained presets have no file: their float32 weights stand in.
    size = 4 * segmenter.count_params()
    if source.endswith(".keras"):
        size = os.path.getsize(source)
    yield "keras", export.serving_runner(segmenter, input_size), size, None
    # Untrained presets may fail the gate on agreement (near-uniform outputs);
    # their artifacts are still timed and the table shows the gate's figures.
    options = dict(parity_images=parity, enforce_parity=not source.endswith(_UNTRAINED))
    path = os.path.join(workdir, f"{role}_saved_model")
    report = export.export_model(segmenter, path, "saved_model", **options)
    yield "saved_model", export.saved_model_runner(path), report["size_bytes"], report
    for quantize in config["quantize"]:
        path = os.path.join(workdir, f"{role}_{quantize}.tflite")
        report = export.export_model(
            segmenter,
            path,
            "tflite",
            quantize=quantize,
            input_size=input_size,
            calibration_images=calibration,
            **options,
        )
        name = "fp32" if quantize == "none" else quantize
        for threads in config["threads"]:
            run = export.tflite_runner(path, num_threads=threads)
            yield f"litert_{name}_{threads}t", run, report["size_bytes"], report


def _measure(role, source, runtime, run, size_bytes, report, samples, config):
    """Times one runtime and scores it; returns its row."""
    from keras_pfs import export

    _, _, parity, scored = samples
    timing, _ = benchmark.time_calls(
        {"run": lambda: run(parity[:1])}, config["repeats"]
    )
    row = {
        "model": role,
        "source": source,
        "runtime": runtime,
        "latency_ms": 1000 * timing["run"]["median_s"],
        "size_mb": size_bytes / 2**20,
        "miou": None,
        "parity": None,
    }
    if report:
        row["parity"] = {k: report[k] for k in ("passed", "max_abs_diff", "agreement")}
    if scored is not None:
        classes, void = config["num_classes"], config["ignore_class"]
        row["miou"] = export.runner_miou(run, *scored, classes, void)
    print(json.dumps(row), flush=True)
    return row


def _samples(config):
    """`(input_size, calibration, parity, scored)` images for every model."""
    from keras_pfs import export

    input_size = tuple(config["input_size"])
    classes = min(config["num_classes"], 7)
    count = config["calibration_samples"]
    if FLAGS.calibration_list:
        calibration, _ = export.list_file_samples(FLAGS.calibration_list, count)
    else:
        calibration, _ = export.synthetic_samples(count, input_size, classes)
    calibration, _ = export.resize_samples(calibration, None, input_size)
    if not FLAGS.list_file:
        parity, _ = export.synthetic_samples(8, input_size, classes)
        return input_size, calibration, parity, None
    scored = export.resize_samples(
        *export.list_file_samples(
            FLAGS.list_file,
            config["num_images"],
            config["num_classes"],
            config["ignore_class"],
        ),
        input_size,
    )
    return input_size, calibration, scored[0][:8], scored


def _markdown(results):
    size = "x".join(map(str, results["input_size"]))
    lines = [
        "# Deployment benchmark",
        "",
        f"Command: `{results['command']}`",
        "",
        f"{results['date']}; {results['machine']} Per-image latency: batch 1, "
        f"median of {results['repeats']} calls at {size}. LiteRT: default XNNPACK "
        "delegate, `_Nt` = num_threads N. Keras and SavedModel use all cores.",
        "",
        *(f"- {note}" for note in results["notes"]),
        "- SavedModel size is about twice the weights: Keras 3.15 `model.export` "
        "stores every variable twice (`variables` and `_all_variables`).",
        "",
    ]
    rows = []
    for row in results["rows"]:
        parity, miou = row["parity"], row["miou"]
        gate = ["-"] * 3
        if parity:
            gate = [f"{parity['max_abs_diff']:.2g}", f"{parity['agreement']:.4f}"]
            gate.append("pass" if parity["passed"] else "FAIL")
        rows.append(
            [row["model"], row["runtime"], f"{row['latency_ms']:.1f}"]
            + [f"{row['size_mb']:.2f}", "-" if miou is None else f"{100 * miou:.2f}"]
            + gate
        )
    header = "model|runtime|latency (ms)|size (MB)|mIoU|parity max diff"
    header += "|parity agreement|gate"
    lines += [benchmark.markdown_table(header.split("|"), rows), ""]
    return "\n".join(lines + [benchmark.targets_table(results["targets"]), ""])


def main(argv):
    del argv
    import keras

    from keras_pfs import models

    config = harness.config_from_flags()
    keras.utils.set_random_seed(0)
    samples = _samples(config)
    notes, rows = [], []
    with tempfile.TemporaryDirectory() as workdir:
        for role, path in (("teacher", FLAGS.teacher), ("student", FLAGS.student)):
            if path:
                segmenter, source = keras.saving.load_model(path), path
            else:
                preset = config[f"{role}_preset"]
                segmenter = models.build_segmenter(preset, config["num_classes"])
                source = preset + _UNTRAINED
                notes.append(
                    f"{role}: {source}, random weights; latency and size are "
                    "real, mIoU and parity are not: near-uniform outputs flip "
                    "argmax on tiny errors, so the int8 gate may FAIL on "
                    "agreement (its artifact is timed anyway)."
                )
            for artifact in _artifacts(
                role, segmenter, source, samples, config, workdir
            ):
                rows.append(_measure(role, source, *artifact, samples, config))
    machine = records.machine()
    loads = machine["load_average_start"], machine["load_average_end"]
    if min(loads) > machine["cpu_count"]:
        notes.append(
            "Other jobs kept every core busy (load average above the core "
            "count), so num_threads 2 could not show a speed-up."
        )
    results = {
        "machine": records.describe(machine),
        "input_size": config["input_size"],
        "repeats": config["repeats"],
        "notes": notes,
        "rows": rows,
        "targets": benchmark.check_targets(config["targets"], rows),
        "settings": config,
    }
    path = os.path.join(FLAGS.output_dir, "results.json")
    results = records.record_json(path, results)
    with open(os.path.join(FLAGS.output_dir, "README.md"), "w") as f:
        f.write(_markdown(results))
    print(f"Wrote {FLAGS.output_dir}/README.md and results.json")


if __name__ == "__main__":
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    app.run(main)
