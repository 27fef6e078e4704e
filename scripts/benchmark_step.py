"""Times a distillation step against a student step plus a teacher inference.

On one fixed batch and one pair of models, for each XLA setting and each
configuration of `benchmarks/configs/step.json` (`student`: a supervised
`Distiller` step; `teacher`: the teacher's inference; `full`: the distillation
step; `no_<term>`: without that term), the script times the `Distiller`'s own
`train_function` (what `fit()` runs) fed from a dataset repeating the batch.
Configurations are interleaved, one call each per round in a rotating order, so
that a slow phase of a shared CPU hits all alike. The overhead of distillation
is `full / (student + teacher)`, from the medians and as the median of the
per-round ratios, in wall and in process CPU time.

All configurations share one student, whose weights change as steps run; that
does not change a step's work. Each `Distiller`'s first step starts from the
same weights, so the logged losses with XLA off and on are compared (TF's
bilinear resize has given wrong values under XLA), as are the teacher's outputs.

Usage:

    .venv/bin/python scripts/benchmark_step.py \
        --data_dir=/work/shared/datasets/camvid --output_json=benchmarks/step.json
    .venv/bin/python scripts/benchmark_step.py --smoke --output_json=/tmp/s.json
"""

import json
import time

import benchmark_harness as harness
import numpy as np
from absl import app, flags

from keras_pfs.experiments import benchmark, records

harness.define_flags("step")
flags.DEFINE_string("output_json", None, "Where to write the results as JSON.")
flags.DEFINE_string(
    "data_dir",
    None,
    "Folder with a list file `train.txt` (e.g. CamVid): the batch is its first "
    "images, centre-cropped to height x width. Default: random images/labels.",
)
FLAGS = flags.FLAGS


def make_step(student, teacher, terms, jit, batch, ignore_class):
    """Returns `(step, effective_jit)`: `step()` runs one `Distiller` training
    step (its logs as floats) or, for `terms=None`, one teacher inference
    (its outputs as arrays)."""
    import keras
    import tensorflow as tf

    from keras_pfs.distiller import Distiller

    if terms is None:
        forward = tf.function(
            lambda x: teacher(x, training=False), jit_compile=jit, reduce_retracing=True
        )
        return lambda: {k: v.numpy() for k, v in forward(batch[0]).items()}, jit
    distiller = Distiller(
        student, teacher if terms else None, terms, ignore_class=ignore_class
    )
    distiller.compile(
        optimizer=keras.optimizers.AdamW(1e-4, weight_decay=1e-4), jit_compile=jit
    )
    distiller.optimizer.build(student.trainable_variables)
    return benchmark.train_step(distiller, batch), bool(distiller.jit_compile)


def _agreement(off, on):
    """A logged value: both and their relative difference; a teacher output
    (array): the largest absolute difference and the largest absolute value."""
    if np.ndim(off):
        return {
            "max_abs_diff": float(np.max(np.abs(off - on))),
            "max_abs": float(np.max(np.abs(on))),
        }
    return {
        "off": off,
        "on": on,
        "relative_diff": abs(off - on) / max(abs(off), abs(on), 1e-12),
    }


def derive(samples, config):
    """Per XLA setting: the overhead `full / (student + teacher)` (from the
    medians and as the median of per-round ratios) and each term's cost
    (`full - no_<term>`), in wall time and, prefixed `cpu_`, CPU time."""
    derived = {}
    for jit in config["jit"]:
        derived[jit] = {}
        for prefix, key in (("", "times_s"), ("cpu_", "cpu_times_s")):
            times = {n: np.array(samples[(n, jit)][key]) for n in config["configs"]}
            median = {name: float(np.median(t)) for name, t in times.items()}
            parts = median["student"] + median["teacher"]
            per_round = times["full"] / (times["student"] + times["teacher"])
            figures = {
                "overhead_ratio": median["full"] / parts,
                "overhead_ratio_per_round_median": float(np.median(per_round)),
                "student_plus_teacher_s": parts,
                "distillation_extra_s": median["full"] - parts,
                **{
                    f"{name[3:]}_cost_s": median["full"] - median[name]
                    for name in median
                    if name.startswith("no_")
                },
            }
            derived[jit].update({prefix + k: v for k, v in figures.items()})
    return derived


def main(argv):
    del argv
    import keras

    from keras_pfs.models import build_segmenter

    config = harness.config_from_flags()
    missing = {"student", "teacher", "full"} - set(config["configs"])
    if missing or set(config["jit"]) - {"off", "on"}:
        raise app.UsageError(f"Step config: configs lack {missing} or jit not off/on.")
    keras.utils.set_random_seed(config["seed"])
    teacher = build_segmenter(
        config["teacher"], config["num_classes"], **config["teacher_options"]
    )
    student = build_segmenter(config["student"], config["num_classes"])
    batch = benchmark.make_batch(config, FLAGS.data_dir)
    initial_weights = student.get_weights()
    steps, first, rows = {}, {}, {}
    for jit in config["jit"]:
        for name, terms in config["configs"].items():
            steps[(name, jit)], effective_jit = make_step(
                student, teacher, terms, jit == "on", batch, config["ignore_class"]
            )
            student.set_weights(initial_weights)
            start = time.perf_counter()
            first[(name, jit)] = steps[(name, jit)]()
            rows[(name, jit)] = dict(config=name, jit=jit, effective_jit=effective_jit)
            rows[(name, jit)]["first_call_s"] = time.perf_counter() - start
            print(f"first call: {json.dumps(rows[(name, jit)])}", flush=True)
    samples, last = benchmark.time_calls(steps, config["repeats"], config["warmup"])
    for key, row in rows.items():
        row.update(samples[key], min_s=min(samples[key]["times_s"]))
        row["images_per_s"] = config["batch_size"] / row["median_s"]
        print(f"{key}: median {row['median_s']:.4f} s, CPU {row['median_cpu_s']:.4f} s")
    derived = derive(samples, config)
    agreement = {}
    if {"off", "on"} <= set(config["jit"]):
        derived["xla_speedup"] = {
            name: rows[(name, "off")]["median_s"] / rows[(name, "on")]["median_s"]
            for name in config["configs"]
        }
        agreement = {
            name: {k: _agreement(v, first[(name, "on")][k]) for k, v in logs.items()}
            for (name, jit), logs in first.items()
            if jit == "off"
        }
    for name, values in {**derived, **agreement}.items():
        print(f"{name}: {json.dumps(values)}")
    targets = benchmark.check_targets(
        config["targets"], [{"jit": jit, **derived[jit]} for jit in config["jit"]]
    )
    if FLAGS.output_json:
        logs = {
            field: {f"{n}/{j}": v for (n, j), v in outputs.items() if n != "teacher"}
            for field, outputs in (("first", first), ("last", last))
        }
        settings = {**config, "data": FLAGS.data_dir or "random"}
        records.record_json(
            FLAGS.output_json,
            dict(
                machine=records.machine(),
                settings={**settings, "optimizer": "AdamW(1e-4, weight_decay=1e-4)"},
                rows=list(rows.values()),
                derived=derived,
                xla_agreement=agreement,
                first_step_logs=logs["first"],
                last_step_logs=logs["last"],
                targets=targets,
            ),
        )


if __name__ == "__main__":
    app.run(main)
