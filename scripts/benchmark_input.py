"""Measures the CamVid input pipeline against what a distillation step consumes.

The pipeline is the training one, `keras_pfs.data.list_file_dataset` over a list
file (shuffled, decoded, validated, augmented, batched, prefetched), repeated.
After warm-up batches it is timed over windows of batches; the median window's
images/s is reported with the process CPU time per image (tf.data's threads
included), i.e. the share of the cores that feeding training takes.

The images/s a distillation step consumes come from `benchmark_step.py`'s JSON
(`--step_json`): batch size over the median time of its `full` configuration,
for each XLA setting. The config's target is a pipeline / step ratio.

Usage:

    .venv/bin/python scripts/benchmark_input.py \
        --data_dir=/work/shared/datasets/camvid --step_json=benchmarks/step.json \
        --output_json=benchmarks/input.json
    .venv/bin/python scripts/benchmark_input.py --smoke --data_dir=/tmp/tiny \
        --step_json=/tmp/s.json
"""

import json
import os

import benchmark_harness as harness
from absl import app, flags

from keras_pfs.experiments import benchmark, records

harness.define_flags("input")
flags.DEFINE_string("output_json", None, "Where to write the results as JSON.")
flags.DEFINE_string("data_dir", None, "Folder holding the list file.", required=True)
flags.DEFINE_string(
    "step_json", None, "benchmark_step.py output; without it no ratio is computed."
)
FLAGS = flags.FLAGS


def main(argv):
    del argv
    from keras_pfs.data import Augmentation, list_file_dataset, read_list_file

    config = harness.config_from_flags()
    list_file = os.path.join(FLAGS.data_dir, config["list_file"])
    augment = Augmentation(crop_size=tuple(config["crop_size"]))
    dataset = list_file_dataset(
        list_file,
        num_classes=config["num_classes"],
        ignore_class=config["ignore_class"],
        batch_size=config["batch_size"],
        training=True,
        augment=augment,
        seed=config["seed"],
    )
    pipeline = {"images_in_list": len(read_list_file(list_file)[0])}
    pipeline.update(
        benchmark.time_pipeline(
            iter(dataset.repeat()),
            config["batch_size"],
            config["windows"],
            config["window_batches"],
            config["warmup_batches"],
        )
    )
    print(
        f"pipeline: {pipeline['images_per_s']:.1f} images/s, "
        f"{pipeline['cpu_s_per_image'] * 1e3:.2f} CPU ms/image"
    )
    settings = {**config, "list_file": list_file, "augmentation": repr(augment)}
    result = dict(
        machine=records.machine(),
        settings={**settings, "step_json": FLAGS.step_json},
        pipeline=pipeline,
    )
    if FLAGS.step_json:
        with open(FLAGS.step_json) as source:
            step = json.load(source)
        batch_size = step["settings"]["batch_size"]
        rates = {
            row["jit"]: batch_size / row["median_s"]
            for row in step["rows"]
            if row["config"] == "full"
        }
        result["step_settings"] = step["settings"]
        result["step"] = {
            jit: {
                "step_images_per_s": rate,
                "ratio": pipeline["images_per_s"] / rate,
                # Fraction of all cores the pipeline needs to feed the step.
                "core_share_to_feed": rate
                * pipeline["cpu_s_per_image"]
                / os.cpu_count(),
            }
            for jit, rate in rates.items()
        }
        print("step: " + json.dumps(result["step"]))
        rows = [{"jit": jit, **figures} for jit, figures in result["step"].items()]
        result["targets"] = benchmark.check_targets(config["targets"], rows)
    if FLAGS.output_json:
        records.record_json(FLAGS.output_json, result)


if __name__ == "__main__":
    app.run(main)
