"""Times a distillation step against a student step plus a teacher inference.

On one fixed batch and one pair of models, with XLA (`jit_compile`) off and on,
the script times:

- `student`: a supervised `Distiller` step (teacher `None`, CE only);
- `teacher`: the teacher's forward pass, `training=False`, in a `tf.function`;
- `full`: a distillation step with the default terms (pfs + imitation);
- `no_pfs` / `no_imitation`: the distillation step with that term left out.

Every `Distiller` step is its `train_function` (what `fit()` runs) fed from a
dataset that repeats the batch. Configurations are interleaved, one call each
per round (the order rotates every round), so that a slow phase of a shared CPU
hits all of them alike; medians are taken over the rounds after warm-up. The
overhead of distillation is reported as `full / (student + teacher)`, both from
the medians and as the median of the per-round ratios.

All configurations share one student and one teacher, so the student's weights
change as the steps run; that does not change the work a step does. Before any
timing, each `Distiller` takes its first step from the same weights with XLA
off and on, and the logged loss terms of the two are compared (TF's bilinear
resize has given wrong values under XLA for some size pairs), as are the
teacher's outputs.

Usage:

    .venv/bin/python scripts/benchmark_step.py \
        --data_dir=/work/shared/datasets/camvid --output_json=benchmarks/step.json
    .venv/bin/python scripts/benchmark_step.py --smoke --output_json=/tmp/s.json
"""

import datetime
import json
import os
import platform
import statistics
import time

from absl import app, flags

FLAGS = flags.FLAGS

flags.DEFINE_string("teacher", "deeplabv3plus_resnet18", "Teacher preset.")
flags.DEFINE_string("student", "deeplabv3plus_mobile", "Student preset.")
flags.DEFINE_integer("batch_size", 8, "Images per step.")
flags.DEFINE_integer("height", 180, "Image height.")
flags.DEFINE_integer("width", 240, "Image width.")
flags.DEFINE_integer("num_classes", 11, "Number of classes.")
flags.DEFINE_integer("ignore_class", 11, "Void label id.")
flags.DEFINE_string(
    "data_dir",
    None,
    "Folder with a list file `train.txt` (e.g. CamVid): the batch is its first "
    "images, centre-cropped to height x width. Default: random images/labels.",
)
flags.DEFINE_list("jit", ["off", "on"], "XLA settings to time: off, on.")
flags.DEFINE_list(
    "configs",
    ["student", "teacher", "full", "no_pfs", "no_imitation"],
    "Configurations to time; student, teacher and full are required.",
)
flags.DEFINE_integer("repeats", 10, "Timed rounds (medians over these).")
flags.DEFINE_integer("warmup", 2, "Untimed rounds after the tracing calls.")
flags.DEFINE_integer("seed", 0, "Seed of the models' weights and random batch.")
flags.DEFINE_string("output_json", None, "Where to write the results as JSON.")
flags.DEFINE_bool(
    "smoke",
    False,
    "Tiny presets (tiny_resnet / tiny_mobile), 32x40 images, batch 2, "
    "configurations student, teacher and full without XLA, 1 warm-up and 2 "
    "timed rounds.",
)

# name -> distillation terms of the Distiller (None: the teacher alone).
STEP_CONFIGS = {
    "student": {},
    "teacher": None,
    "full": {"pfs": "pfs", "imitation": "imitation"},
    "no_pfs": {"imitation": "imitation"},
    "no_imitation": {"pfs": "pfs"},
}
_JIT_SETTINGS = {"off": False, "on": True}


def load_batch(data_dir, batch_size, height, width, num_classes, ignore_class):
    """Returns the first `batch_size` pairs of `data_dir/train.txt`, cropped.

    Args:
        data_dir: folder holding `train.txt`.
        batch_size: number of pairs.
        height: crop height (centre crop; images must be at least this tall).
        width: crop width.
        num_classes: number of classes.
        ignore_class: void label id.

    Returns:
        `(images, labels)`: float32 `(B, H, W, 3)` and int32 `(B, H, W)`.
    """
    import tensorflow as tf

    from keras_pfs.data import read_list_file, read_pair

    image_paths, label_paths = read_list_file(os.path.join(data_dir, "train.txt"))
    images, labels = [], []
    for image_path, label_path in zip(
        image_paths[:batch_size], label_paths[:batch_size], strict=True
    ):
        image, label = read_pair(image_path, label_path, num_classes, ignore_class)
        image = tf.image.resize_with_crop_or_pad(image, height, width)
        label = tf.image.resize_with_crop_or_pad(label[..., None], height, width)
        images.append(image)
        labels.append(label[..., 0])
    return tf.stack(images), tf.stack(labels)


def random_batch(batch_size, height, width, num_classes, seed):
    """Returns uniform random images in 0..255 and labels in `[0, num_classes)`."""
    import tensorflow as tf

    images = tf.random.stateless_uniform(
        (batch_size, height, width, 3), (seed, 1), 0.0, 255.0
    )
    labels = tf.random.stateless_uniform(
        (batch_size, height, width), (seed, 2), 0, num_classes, dtype=tf.int32
    )
    return images, labels


def make_distiller_step(student, teacher, terms, jit, ignore_class, batch):
    """Compiles a `Distiller` and returns a call of its `train_function`.

    Args:
        student: the student model (shared between configurations).
        teacher: the teacher model.
        terms: dict of distillation terms; empty for the supervised step.
        jit: `jit_compile` of the `Distiller`.
        ignore_class: void label id.
        batch: `(images, labels)`, repeated by the step's dataset.

    Returns:
        `(step, distiller)`: `step()` runs one training step and returns its
        logged values as floats (reading them waits for the step to finish).
    """
    import keras
    import tensorflow as tf

    from keras_pfs.distiller import Distiller

    distiller = Distiller(
        student,
        teacher if terms else None,
        distillation_losses=terms,
        ignore_class=ignore_class,
    )
    distiller.compile(
        optimizer=keras.optimizers.AdamW(1e-4, weight_decay=1e-4),
        jit_compile=jit,
    )
    distiller.optimizer.build(student.trainable_variables)
    distiller.make_train_function()
    iterator = iter(tf.data.Dataset.from_tensors(batch).repeat())

    def step():
        logs = distiller.train_function(iterator)
        return {name: float(value) for name, value in logs.items()}

    return step, distiller


def make_teacher_step(teacher, jit, images):
    """Returns `step()`: one teacher inference in a `tf.function`, and its outputs.

    Args:
        teacher: the teacher model.
        jit: compile the function with XLA.
        images: the batch's images.

    Returns:
        `step()` returning the outputs as numpy arrays.
    """
    import tensorflow as tf

    forward = tf.function(
        lambda x: teacher(x, training=False), jit_compile=jit, reduce_retracing=True
    )

    def step():
        return {name: value.numpy() for name, value in forward(images).items()}

    return step


def _relative_diff(a, b):
    return abs(a - b) / max(abs(a), abs(b), 1e-12)


def xla_agreement(first_logs, teacher_outputs):
    """Compares the first-step logs and teacher outputs with XLA off and on.

    Args:
        first_logs: `{(config, jit): logs}` of each `Distiller`'s first step,
            all taken from the same student weights.
        teacher_outputs: `{jit: {"logits": array, "features": array}}`.

    Returns:
        Dict: per configuration and logged value, both values and their
        relative difference; per teacher output, the largest absolute
        difference and the largest absolute value.
    """
    import numpy as np

    agreement = {}
    for config in STEP_CONFIGS:
        if (config, "off") not in first_logs or (config, "on") not in first_logs:
            continue
        off, on = first_logs[(config, "off")], first_logs[(config, "on")]
        agreement[config] = {
            name: {
                "off": off[name],
                "on": on[name],
                "relative_diff": _relative_diff(off[name], on[name]),
            }
            for name in off
        }
    if {"off", "on"} <= set(teacher_outputs):
        agreement["teacher"] = {
            name: {
                "max_abs_diff": float(
                    np.max(np.abs(teacher_outputs["off"][name] - value))
                ),
                "max_abs": float(np.max(np.abs(value))),
            }
            for name, value in teacher_outputs["on"].items()
        }
    return agreement


def summarise(times, cpu_times, jit_settings, configs):
    """Medians per configuration and the derived overhead figures.

    Args:
        times: `{(config, jit): [wall seconds per round]}`, rounds aligned.
        cpu_times: the same layout, process CPU seconds (all threads).
        jit_settings: the XLA settings timed.
        configs: the configurations timed.

    Returns:
        `(rows, derived)`: one row per configuration; per XLA setting the
        overhead `full / (student + teacher)` (from medians and as the median
        of per-round ratios) and each term's cost (`full - without it`), in
        wall time and, with a `cpu_` prefix, in CPU time.
    """
    rows = [
        {
            "config": config,
            "jit": jit,
            "median_s": statistics.median(values),
            "min_s": min(values),
            "median_cpu_s": statistics.median(cpu_times[(config, jit)]),
            "times_s": values,
            "cpu_times_s": cpu_times[(config, jit)],
        }
        for (config, jit), values in times.items()
    ]
    derived = {}
    for jit in jit_settings:
        derived[jit] = {}
        for prefix, samples in (("", times), ("cpu_", cpu_times)):

            def median_of(config, samples=samples, jit=jit):
                return statistics.median(samples[(config, jit)])

            per_round = [
                full / (student + teacher)
                for full, student, teacher in zip(
                    samples[("full", jit)],
                    samples[("student", jit)],
                    samples[("teacher", jit)],
                    strict=True,
                )
            ]
            baseline = median_of("student") + median_of("teacher")
            figures = {
                "overhead_ratio": median_of("full") / baseline,
                "overhead_ratio_per_round_median": statistics.median(per_round),
                "student_plus_teacher_s": baseline,
                "distillation_extra_s": median_of("full") - baseline,
            }
            for term in ("pfs", "imitation"):
                if f"no_{term}" in configs:
                    figures[f"{term}_cost_s"] = median_of("full") - median_of(
                        f"no_{term}"
                    )
            derived[jit].update(
                {prefix + name: value for name, value in figures.items()}
            )
    if {"off", "on"} <= set(jit_settings):
        derived["xla_speedup"] = {
            config: statistics.median(times[(config, "off")])
            / statistics.median(times[(config, "on")])
            for config in configs
        }
    return rows, derived


def run(
    teacher_preset,
    student_preset,
    batch_size,
    height,
    width,
    num_classes,
    ignore_class,
    data_dir,
    jit_settings,
    configs,
    repeats,
    warmup,
    seed,
):
    """Builds the models, checks XLA agreement, times every configuration.

    Args:
        teacher_preset: teacher preset name.
        student_preset: student preset name.
        batch_size: images per step.
        height: image height.
        width: image width.
        num_classes: number of classes.
        ignore_class: void label id.
        data_dir: folder with `train.txt`, or `None` for a random batch.
        jit_settings: XLA settings to time, from `"off"`, `"on"`.
        configs: names from `STEP_CONFIGS` to time.
        repeats: timed rounds.
        warmup: untimed rounds after the first (tracing) call.
        seed: seed of the weights and the random batch.

    Returns:
        The result dict written to `--output_json`.
    """
    import keras
    import tensorflow as tf

    from keras_pfs.models import build_segmenter

    keras.utils.set_random_seed(seed)
    teacher = build_segmenter(teacher_preset, num_classes)
    student = build_segmenter(student_preset, num_classes)
    if data_dir:
        batch = load_batch(
            data_dir, batch_size, height, width, num_classes, ignore_class
        )
    else:
        batch = random_batch(batch_size, height, width, num_classes, seed)

    steps, first_logs, teacher_outputs, effective_jit, trace_s = {}, {}, {}, {}, {}
    initial_weights = student.get_weights()
    for jit in jit_settings:
        for config in configs:
            terms = STEP_CONFIGS[config]
            if terms is None:
                step = make_teacher_step(teacher, _JIT_SETTINGS[jit], batch[0])
                start = time.perf_counter()
                teacher_outputs[jit] = step()
                effective_jit[(config, jit)] = _JIT_SETTINGS[jit]
            else:
                step, distiller = make_distiller_step(
                    student, teacher, terms, _JIT_SETTINGS[jit], ignore_class, batch
                )
                student.set_weights(initial_weights)
                start = time.perf_counter()
                first_logs[(config, jit)] = step()
                effective_jit[(config, jit)] = bool(distiller.jit_compile)
            trace_s[(config, jit)] = time.perf_counter() - start
            steps[(config, jit)] = step
            print(
                f"first call {config} jit={jit}: {trace_s[(config, jit)]:.1f} s",
                flush=True,
            )
    agreement = xla_agreement(first_logs, teacher_outputs)

    keys = list(steps)
    times = {key: [] for key in keys}
    cpu_times = {key: [] for key in keys}
    last_logs = {}
    for round_index in range(warmup + repeats):
        shift = round_index % len(keys)
        for key in keys[shift:] + keys[:shift]:
            start, cpu_start = time.perf_counter(), time.process_time()
            out = steps[key]()
            elapsed = time.perf_counter() - start
            cpu = time.process_time() - cpu_start
            if round_index >= warmup:
                times[key].append(elapsed)
                cpu_times[key].append(cpu)
            if key[0] != "teacher":
                last_logs[key] = out
        print(f"round {round_index + 1}/{warmup + repeats} done", flush=True)
    rows, derived = summarise(times, cpu_times, jit_settings, configs)
    for row in rows:
        key = (row["config"], row["jit"])
        row["first_call_s"] = trace_s[key]
        row["effective_jit"] = effective_jit[key]
        row["images_per_s"] = batch_size / row["median_s"]
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(),
        "machine": {
            "cpu_count": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "note": "CPU shared with other jobs while measuring",
        },
        "settings": {
            "teacher": teacher_preset,
            "student": student_preset,
            "batch_size": batch_size,
            "height": height,
            "width": width,
            "num_classes": num_classes,
            "data": data_dir or "random",
            "jit": list(jit_settings),
            "configs": list(configs),
            "repeats": repeats,
            "warmup": warmup,
            "optimizer": "AdamW(1e-4, weight_decay=1e-4)",
        },
        "rows": rows,
        "derived": derived,
        "xla_agreement": agreement,
        "first_step_logs": {f"{c}/{j}": logs for (c, j), logs in first_logs.items()},
        "last_step_logs": {f"{c}/{j}": logs for (c, j), logs in last_logs.items()},
    }


def print_summary(result):
    """Prints the medians, the overhead ratios and the XLA agreement."""
    print(
        f"{'config':<14}{'jit':<5}{'median s':>10}{'min s':>9}{'cpu s':>9}{'img/s':>8}"
    )
    for row in result["rows"]:
        print(
            f"{row['config']:<14}{row['jit']:<5}{row['median_s']:>10.4f}"
            f"{row['min_s']:>9.4f}{row['median_cpu_s']:>9.4f}"
            f"{row['images_per_s']:>8.2f}"
        )
    for jit, figures in result["derived"].items():
        if jit == "xla_speedup":
            print(
                "xla_speedup "
                + json.dumps({k: round(v, 3) for k, v in figures.items()})
            )
            continue
        for prefix, unit in (("", "wall"), ("cpu_", "cpu")):
            costs = ", ".join(
                f"{term} cost {figures[f'{prefix}{term}_cost_s']:+.4f} s"
                for term in ("pfs", "imitation")
                if f"{prefix}{term}_cost_s" in figures
            )
            ratio = figures[f"{prefix}overhead_ratio"]
            per_round = figures[f"{prefix}overhead_ratio_per_round_median"]
            print(
                f"overhead_ratio jit={jit} ({unit}): {ratio:.3f} "
                f"(per-round median {per_round:.3f})" + (f"; {costs}" if costs else "")
            )
    for config, values in result["xla_agreement"].items():
        print(f"xla_agreement {config}: " + json.dumps(values))


def main(argv):
    del argv
    if FLAGS.smoke:
        FLAGS.teacher, FLAGS.student = "tiny_resnet", "tiny_mobile"
        FLAGS.height, FLAGS.width, FLAGS.batch_size = 32, 40, 2
        FLAGS.repeats, FLAGS.warmup = 2, 1
        FLAGS.jit, FLAGS.configs = ["off"], ["student", "teacher", "full"]
    unknown = sorted(set(FLAGS.jit) - set(_JIT_SETTINGS))
    if unknown:
        raise app.UsageError(f"--jit takes off and/or on, got {unknown}.")
    unknown = sorted(set(FLAGS.configs) - set(STEP_CONFIGS))
    missing = sorted({"student", "teacher", "full"} - set(FLAGS.configs))
    if unknown or missing:
        raise app.UsageError(
            f"--configs: unknown {unknown}, missing required {missing}; "
            f"known: {', '.join(STEP_CONFIGS)}."
        )
    result = run(
        FLAGS.teacher,
        FLAGS.student,
        FLAGS.batch_size,
        FLAGS.height,
        FLAGS.width,
        FLAGS.num_classes,
        FLAGS.ignore_class,
        FLAGS.data_dir,
        FLAGS.jit,
        FLAGS.configs,
        FLAGS.repeats,
        FLAGS.warmup,
        FLAGS.seed,
    )
    print_summary(result)
    if FLAGS.output_json:
        with open(FLAGS.output_json, "w") as output:
            json.dump(result, output, indent=1)


if __name__ == "__main__":
    app.run(main)
