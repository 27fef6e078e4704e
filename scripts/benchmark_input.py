"""Measures the CamVid input pipeline against what a distillation step consumes.

The pipeline is the training one: `keras_pfs.data.list_file_dataset` over a list
file, shuffled, decoded, validated, augmented (random scale, crop, flip),
batched and prefetched, repeated across epochs. After warm-up batches, its
throughput is measured over several windows of batches; the median window's
images/s is reported, with the process CPU time per image (tf.data's threads
included), i.e. the share of the cores that feeding training takes.

The images/s a distillation step consumes come from `benchmark_step.py`'s JSON
(`--step_json`): batch size over the median time of its `full` configuration,
for each XLA setting it measured. The ratio pipeline / step should be at least
3, so that the pipeline keeps up even when it competes with the step for the
same cores.

Usage:

    .venv/bin/python scripts/benchmark_input.py \
        --data_dir=/work/shared/datasets/camvid --step_json=benchmarks/step.json \
        --output_json=benchmarks/input.json
    .venv/bin/python scripts/benchmark_input.py --smoke --step_json=/tmp/s.json
"""

import datetime
import json
import os
import statistics
import tempfile
import time

from absl import app, flags

FLAGS = flags.FLAGS

flags.DEFINE_string("data_dir", None, "Folder holding the list file.")
flags.DEFINE_string("list_file", "train.txt", "List file inside --data_dir.")
flags.DEFINE_integer("batch_size", 8, "Images per batch.")
flags.DEFINE_integer("crop_height", 180, "Augmentation crop height.")
flags.DEFINE_integer("crop_width", 240, "Augmentation crop width.")
flags.DEFINE_integer("num_classes", 11, "Number of classes.")
flags.DEFINE_integer("ignore_class", 11, "Void label id.")
flags.DEFINE_integer("warmup_batches", 10, "Untimed batches first.")
flags.DEFINE_integer("window_batches", 25, "Batches per timed window.")
flags.DEFINE_integer("windows", 8, "Timed windows (median reported).")
flags.DEFINE_integer("seed", 0, "Seed of shuffling and augmentation.")
flags.DEFINE_string(
    "step_json", None, "benchmark_step.py output; without it no ratio is computed."
)
flags.DEFINE_float("target_ratio", 3.0, "Pipeline / step images/s to reach.")
flags.DEFINE_string("output_json", None, "Where to write the results as JSON.")
flags.DEFINE_bool(
    "smoke",
    False,
    "Writes 6 random 40x48 image/label PNGs and a list file to a temporary "
    "folder and times a few batches of 2 (crop 32x40) from it.",
)

_SMOKE_IMAGES = 6
_SMOKE_SIZE = (40, 48)


def write_fixture(folder, num_images, size, num_classes, ignore_class, seed=0):
    """Writes random RGB images, label maps and a `train.txt` list file.

    Args:
        folder: where to write.
        num_images: number of image/label pairs.
        size: `(height, width)` of every image.
        num_classes: labels are drawn from `[0, num_classes)` and
            `ignore_class`.
        ignore_class: void label id.
        seed: seed of the random contents.

    Returns:
        Path of the list file.
    """
    import tensorflow as tf

    lines = []
    for index in range(num_images):
        image = tf.random.stateless_uniform(
            (*size, 3), (seed, index), 0, 256, dtype=tf.int32
        )
        label = tf.random.stateless_uniform(
            (*size, 1), (seed + 1, index), 0, num_classes + 1, dtype=tf.int32
        )
        label = tf.where(label == num_classes, ignore_class, label)
        image_name, label_name = f"image_{index}.png", f"label_{index}.png"
        tf.io.write_file(
            os.path.join(folder, image_name), tf.io.encode_png(tf.cast(image, "uint8"))
        )
        tf.io.write_file(
            os.path.join(folder, label_name), tf.io.encode_png(tf.cast(label, "uint8"))
        )
        lines.append(f"{image_name} {label_name}\n")
    list_file = os.path.join(folder, "train.txt")
    with open(list_file, "w") as output:
        output.writelines(lines)
    return list_file


def time_pipeline(
    list_file,
    batch_size,
    crop_size,
    num_classes,
    ignore_class,
    warmup_batches,
    window_batches,
    windows,
    seed,
):
    """Times the training pipeline of a list file.

    Args:
        list_file: the list file.
        batch_size: images per batch.
        crop_size: `(height, width)` of the augmentation crop.
        num_classes: number of classes.
        ignore_class: void label id.
        warmup_batches: untimed batches first.
        window_batches: batches per timed window.
        windows: number of timed windows.
        seed: seed of shuffling and augmentation.

    Returns:
        Dict with the per-window images/s and CPU seconds per image, their
        medians and the number of images in the list.
    """
    from keras_pfs.data import Augmentation, list_file_dataset, read_list_file

    dataset = list_file_dataset(
        list_file,
        num_classes=num_classes,
        ignore_class=ignore_class,
        batch_size=batch_size,
        training=True,
        augment=Augmentation(crop_size=crop_size),
        seed=seed,
    ).repeat()
    batches = iter(dataset)
    for _ in range(warmup_batches):
        next(batches)
    images_per_s, cpu_s_per_image = [], []
    for _ in range(windows):
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(window_batches):
            images, _ = next(batches)
        # Reading a value makes sure the last batch exists, not just its handle.
        float(images[0, 0, 0, 0])
        wall = time.perf_counter() - wall
        cpu = time.process_time() - cpu
        count = window_batches * batch_size
        images_per_s.append(count / wall)
        cpu_s_per_image.append(cpu / count)
    return {
        "images_in_list": len(read_list_file(list_file)[0]),
        "images_per_s": statistics.median(images_per_s),
        "cpu_s_per_image": statistics.median(cpu_s_per_image),
        "window_images_per_s": images_per_s,
        "window_cpu_s_per_image": cpu_s_per_image,
    }


def step_consumption(step_json):
    """Images/s of the `full` distillation step per XLA setting in `step_json`.

    Args:
        step_json: path of a `benchmark_step.py` output.

    Returns:
        `(settings, {jit: images/s})`: the step benchmark's settings and rates.
    """
    with open(step_json) as source:
        step = json.load(source)
    batch_size = step["settings"]["batch_size"]
    rates = {
        row["jit"]: batch_size / row["median_s"]
        for row in step["rows"]
        if row["config"] == "full"
    }
    return step["settings"], rates


def main(argv):
    del argv
    import keras
    import tensorflow as tf

    if FLAGS.smoke:
        FLAGS.batch_size, FLAGS.crop_height, FLAGS.crop_width = 2, 32, 40
        FLAGS.warmup_batches, FLAGS.window_batches, FLAGS.windows = 1, 3, 2
        fixture = tempfile.TemporaryDirectory()
        list_file = write_fixture(
            fixture.name,
            _SMOKE_IMAGES,
            _SMOKE_SIZE,
            FLAGS.num_classes,
            FLAGS.ignore_class,
        )
    elif FLAGS.data_dir:
        list_file = os.path.join(FLAGS.data_dir, FLAGS.list_file)
    else:
        raise app.UsageError("Pass --data_dir (or --smoke).")
    pipeline = time_pipeline(
        list_file,
        FLAGS.batch_size,
        (FLAGS.crop_height, FLAGS.crop_width),
        FLAGS.num_classes,
        FLAGS.ignore_class,
        FLAGS.warmup_batches,
        FLAGS.window_batches,
        FLAGS.windows,
        FLAGS.seed,
    )
    cpu_count = os.cpu_count()
    result = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(),
        "machine": {
            "cpu_count": cpu_count,
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "note": "CPU shared with other jobs while measuring",
        },
        "settings": {
            "list_file": "smoke fixture" if FLAGS.smoke else list_file,
            "batch_size": FLAGS.batch_size,
            "crop_size": [FLAGS.crop_height, FLAGS.crop_width],
            "augmentation": "scale 0.5-2.0, crop, flip",
            "warmup_batches": FLAGS.warmup_batches,
            "window_batches": FLAGS.window_batches,
            "windows": FLAGS.windows,
            "step_json": FLAGS.step_json,
        },
        "pipeline": pipeline,
        "target_ratio": FLAGS.target_ratio,
    }
    print(
        f"pipeline: {pipeline['images_per_s']:.1f} images/s, "
        f"{pipeline['cpu_s_per_image'] * 1e3:.2f} CPU ms/image"
    )
    if FLAGS.step_json:
        step_settings, rates = step_consumption(FLAGS.step_json)
        result["step_settings"] = step_settings
        result["step"] = {}
        for jit, step_images_per_s in rates.items():
            ratio = pipeline["images_per_s"] / step_images_per_s
            # Fraction of all cores the pipeline needs to feed the step.
            core_share = step_images_per_s * pipeline["cpu_s_per_image"] / cpu_count
            result["step"][jit] = {
                "step_images_per_s": step_images_per_s,
                "ratio": ratio,
                "core_share_to_feed": core_share,
                "target_met": ratio >= FLAGS.target_ratio,
            }
            print(
                f"step jit={jit}: {step_images_per_s:.2f} images/s; "
                f"ratio pipeline/step {ratio:.2f} (target {FLAGS.target_ratio:g}); "
                f"feeding it takes {core_share:.1%} of {cpu_count} cores"
            )
    if FLAGS.output_json:
        with open(FLAGS.output_json, "w") as output:
            json.dump(result, output, indent=1)


if __name__ == "__main__":
    app.run(main)
