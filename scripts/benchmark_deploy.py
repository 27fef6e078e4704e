"""Deployment benchmark: Keras vs SavedModel vs LiteRT fp32/fp16/int8.

For a teacher and a student, every artifact is exported with
`keras_pfs.export.export_model` (so each one has passed the parity gate) and
timed per image (batch 1, median of `--repeats` calls after a warm-up) at
`--input_size`. LiteRT runs with its default XNNPACK delegate at 1 and 2
threads; Keras (a `tf.function` over the model) and the SavedModel use TF's
default thread pools on all cores. With `--list_file`, every runtime is also
scored (mIoU) on the first `--num_images` images resized to `--input_size`.

Without `--teacher`/`--student`, untrained presets are built and the output
says so: latency and size are then meaningful, mIoU is not.

Usage:

    .venv/bin/python scripts/benchmark_deploy.py \
        --list_file /work/shared/datasets/camvid/val.txt --num_classes 11 \
        --ignore_class 11 --calibration_list /work/shared/datasets/camvid/train.txt
    .venv/bin/python scripts/benchmark_deploy.py --smoke --output_dir /tmp/deploy
"""

import datetime
import json
import os
import statistics
import sys
import tempfile
import time

from absl import app, flags

FLAGS = flags.FLAGS

flags.DEFINE_string("teacher", None, "Teacher .keras; default untrained preset.")
flags.DEFINE_string("student", None, "Student .keras; default untrained preset.")
flags.DEFINE_string("teacher_preset", "deeplabv3plus_resnet18", "Untrained teacher.")
flags.DEFINE_string("student_preset", "deeplabv3plus_mobile", "Untrained student.")
flags.DEFINE_integer("num_classes", 11, "Classes (presets and --list_file).")
flags.DEFINE_integer("ignore_class", 11, "Void id in --list_file labels.")
flags.DEFINE_string("list_file", None, "Score mIoU on this list file.")
flags.DEFINE_integer("num_images", 101, "Images of --list_file to score.")
flags.DEFINE_string("calibration_list", None, "int8 calibration list file.")
flags.DEFINE_integer("calibration_samples", 32, "int8 calibration images.")
flags.DEFINE_string("input_size", "180,240", "H,W of the timed images.")
flags.DEFINE_list("quantize", ["none", "float16", "int8"], "LiteRT variants.")
flags.DEFINE_list("threads", ["1", "2"], "LiteRT num_threads values.")
flags.DEFINE_integer("repeats", 20, "Timed calls per runtime (median reported).")
flags.DEFINE_string("output_dir", "benchmarks/deploy", "README.md and JSON here.")
flags.DEFINE_bool(
    "smoke", False, "Tiny presets at 48x64, fp32 LiteRT only, 2 repeats (tests)."
)


def _latency(run, image, repeats):
    run(image[None])  # Warm-up: tracing, delegate set-up, first allocations.
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(image[None])
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _miou(run, images, labels, num_classes, ignore_class):
    from keras_pfs.metrics import SegmentationIoU

    metric = SegmentationIoU(num_classes, ignore_class=ignore_class)
    for image, label in zip(images, labels, strict=True):
        _, probabilities = run(image[None])
        metric.update_state(label[None], probabilities)
    return float(metric.result())


def _compiled_keras_runner(segmenter, input_size):
    """Keras at its best on CPU: one traced graph, as `predict` would use."""
    import numpy as np
    import tensorflow as tf

    from keras_pfs.export import build_serving_model

    serving = build_serving_model(segmenter, input_size)
    call = tf.function(lambda images: serving(images, training=False))

    def run(images):
        outputs = call(tf.constant(images))
        return (
            np.asarray(outputs["class_ids"]),
            np.asarray(outputs["probabilities"]),
        )

    return run


def _benchmark_model(role, segmenter, source, samples, workdir):
    from keras_pfs import export

    input_size, calibration, parity, scored = samples
    rows = []

    def measure(runtime, run, size_bytes, parity_report=None):
        row = {
            "model": role,
            "source": source,
            "runtime": runtime,
            "latency_ms": 1000 * _latency(run, parity[0], FLAGS.repeats),
            "size_mb": size_bytes / 2**20 if size_bytes else None,
            "miou": None,
            "parity": parity_report,
        }
        if scored is not None:
            row["miou"] = _miou(run, *scored, FLAGS.num_classes, FLAGS.ignore_class)
        rows.append(row)
        print(json.dumps(row), flush=True)

    def gate(report):
        keys = ("passed", "max_abs_diff", "agreement")
        return {key: report[key] for key in keys}

    # Untrained presets have no file: their float32 weights stand in.
    keras_bytes = 4 * segmenter.count_params()
    if source.endswith(".keras"):
        keras_bytes = os.path.getsize(source)
    measure("keras", _compiled_keras_runner(segmenter, input_size), keras_bytes)

    path = os.path.join(workdir, f"{role}_saved_model")
    # Untrained presets may fail the gate on agreement (near-uniform outputs);
    # their artifacts are still timed and the table shows the gate's figures.
    enforce = not source.endswith("(untrained preset)")
    report = export.export_model(
        segmenter, path, "saved_model", parity_images=parity, enforce_parity=enforce
    )
    measure(
        "saved_model",
        export.saved_model_runner(path),
        report["size_bytes"],
        gate(report),
    )
    for quantize in FLAGS.quantize:
        path = os.path.join(workdir, f"{role}_{quantize}.tflite")
        report = export.export_model(
            segmenter,
            path,
            "tflite",
            quantize=quantize,
            input_size=input_size,
            calibration_images=calibration,
            parity_images=parity,
            enforce_parity=enforce,
        )
        for threads in FLAGS.threads:
            measure(
                f"litert_{'fp32' if quantize == 'none' else quantize}_{threads}t",
                export.tflite_runner(path, num_threads=int(threads)),
                report["size_bytes"],
                gate(report),
            )
    return rows


def _load_or_build(path, preset):
    from keras_pfs import models
    from keras_pfs.cli.common import load_model

    if path:
        return load_model(path), path
    return (
        models.build_segmenter(preset, FLAGS.num_classes),
        f"{preset} (untrained preset)",
    )


def _samples(input_size):
    """`(input_size, calibration, parity, scored)` images for every model."""
    from keras_pfs import export

    if FLAGS.calibration_list:
        calibration, _ = export.list_file_samples(
            FLAGS.calibration_list, FLAGS.calibration_samples
        )
    else:
        calibration, _ = export.synthetic_samples(
            FLAGS.calibration_samples, input_size, min(FLAGS.num_classes, 7)
        )
    calibration, _ = export.resize_samples(calibration, None, input_size)
    scored = None
    if FLAGS.list_file:
        images, labels = export.list_file_samples(
            FLAGS.list_file, FLAGS.num_images, FLAGS.num_classes, FLAGS.ignore_class
        )
        scored = export.resize_samples(images, labels, input_size)
        parity = scored[0][:8]
    else:
        parity, _ = export.synthetic_samples(8, input_size, min(FLAGS.num_classes, 7))
    return input_size, calibration, parity, scored


def _markdown(results):
    lines = [
        "# Deployment benchmark",
        "",
        f"Command: `{results['command']}`",
        "",
        f"{results['date']}; {results['machine']}. Per-image latency: batch 1, "
        f"median of {results['repeats']} calls at {results['input_size'][0]}x"
        f"{results['input_size'][1]}. LiteRT: default XNNPACK delegate, "
        "`_Nt` = num_threads N. Keras and SavedModel use all cores.",
        "",
    ]
    lines += [f"- {note}" for note in results["notes"]]
    lines.append(
        "- SavedModel size is about twice the weights: Keras 3.15 `model.export` "
        "stores every variable twice (`variables` and `_all_variables`)."
    )
    lines += [
        "",
        "| model | runtime | latency (ms) | size (MB) | mIoU | parity max diff "
        "| parity agreement | gate |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in results["rows"]:
        parity = row["parity"] or {}
        cells = [
            row["model"],
            row["runtime"],
            f"{row['latency_ms']:.1f}",
            f"{row['size_mb']:.2f}" if row["size_mb"] is not None else "-",
            f"{100 * row['miou']:.2f}" if row["miou"] is not None else "-",
            f"{parity['max_abs_diff']:.2g}" if parity else "-",
            f"{parity['agreement']:.4f}" if parity else "-",
            ("pass" if parity["passed"] else "FAIL") if parity else "-",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv):
    del argv
    import keras

    if FLAGS.smoke:
        FLAGS.teacher_preset, FLAGS.student_preset = "tiny_resnet", "tiny_mobile"
        FLAGS.input_size, FLAGS.quantize, FLAGS.threads = "48,64", ["none"], ["1"]
        FLAGS.repeats, FLAGS.num_images, FLAGS.calibration_samples = 2, 2, 2
    try:
        input_size = tuple(int(v) for v in FLAGS.input_size.split(","))
    except ValueError:
        raise ValueError(
            f"--input_size must be H,W, got {FLAGS.input_size!r}."
        ) from None
    keras.utils.set_random_seed(0)
    load_before = os.getloadavg()[0]
    samples = _samples(input_size)
    notes = []
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for role, path, preset in (
            ("teacher", FLAGS.teacher, FLAGS.teacher_preset),
            ("student", FLAGS.student, FLAGS.student_preset),
        ):
            segmenter, source = _load_or_build(path, preset)
            if not path:
                notes.append(
                    f"{role}: {source}, random weights; latency and size are "
                    "real, mIoU and parity are not: near-uniform outputs flip "
                    "argmax on tiny errors, so the int8 gate may FAIL on "
                    "agreement (its artifact is timed anyway)."
                )
            rows += _benchmark_model(role, segmenter, source, samples, workdir)
    if min(load_before, os.getloadavg()[0]) > os.cpu_count():
        notes.append(
            "Other jobs kept every core busy (load average above the core "
            "count), so num_threads 2 could not show a speed-up."
        )
    results = {
        "command": " ".join([os.path.basename(sys.executable), *sys.argv]),
        "date": datetime.datetime.now(datetime.UTC).isoformat(
            timespec="seconds"
        ),
        # Other jobs share the cores: the load average says how much.
        "machine": f"{os.cpu_count()} CPU cores, shared; 1-min load average "
        f"{load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end",
        "input_size": list(input_size),
        "repeats": FLAGS.repeats,
        "notes": notes,
        "rows": rows,
    }
    os.makedirs(FLAGS.output_dir, exist_ok=True)
    with open(os.path.join(FLAGS.output_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
    with open(os.path.join(FLAGS.output_dir, "README.md"), "w") as f:
        f.write(_markdown(results))
    print(f"Wrote {FLAGS.output_dir}/README.md and results.json")


if __name__ == "__main__":
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    app.run(main)
