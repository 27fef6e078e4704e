r"""keras-pfs-evaluate: mean and per-class IoU of a saved model.

Examples:
    keras-pfs-evaluate --model runs/demo/distilled/model.keras \
        --config configs/synthetic.py --output_json eval.json
    keras-pfs-evaluate --model student.keras \
        --list_file ../shared/datasets/camvid/val.txt --num_classes 11 \
        --ignore_class 11
    keras-pfs-evaluate --model distilled.keras --config configs/synthetic.py \
        --teacher_model teacher.keras --baseline_model student.keras \
        --save_images 4 --images_dir panels
"""

import json
import os

import numpy as np
import tensorflow as tf
from absl import flags

from keras_pfs import data
from keras_pfs.atomic import write_json_atomically
from keras_pfs.cli import command, common
from keras_pfs.cli.common import FLAGS
from keras_pfs.metrics import evaluate_segmenter
from keras_pfs.models import check_segmenter_fits, load_keras_file
from keras_pfs.training import build_datasets, check_splits
from keras_pfs.visualization import segmentation_panel

flags.DEFINE_string("model", None, "Saved model (.keras).")
flags.DEFINE_string("list_file", None, "Evaluate on this list file instead.")
flags.DEFINE_integer("num_classes", None, "Classes, with --list_file.")
flags.DEFINE_integer("ignore_class", 255, "Void id, with --list_file.")
flags.DEFINE_string("output_json", None, "Write the results here.")
flags.DEFINE_integer("save_images", 0, "Write PNG panels for this many images.")
flags.DEFINE_string("images_dir", "panels", "Where --save_images writes.")
flags.DEFINE_string("teacher_model", None, "Teacher (.keras), for the panels.")
flags.DEFINE_string("baseline_model", None, "Baseline student, for the panels.")

# The files evaluate reads, which none of its outputs may replace.
_INPUT_FLAGS = ("model", "teacher_model", "baseline_model", "list_file", "config")


def save_panels(
    dataset, models, count, num_classes, ignore_class, folder, palette=None
):
    """Writes `count` panels (see `segmentation_panel`) as PNG files."""
    os.makedirs(folder, exist_ok=True)
    for index, (image, label) in enumerate(dataset.unbatch().take(count)):
        outputs = {
            name: {
                key: np.asarray(value[0])
                for key, value in model(image[None], training=False).items()
            }
            for name, model in models.items()
        }
        panel = segmentation_panel(
            image.numpy(),
            label.numpy(),
            outputs,
            num_classes,
            ignore_class,
            palette=palette,
        )
        path = os.path.join(folder, f"panel_{index:03d}.png")
        tf.io.write_file(path, tf.io.encode_png(panel))
        print(f"wrote {path}")


def _check_outputs():
    """Refuses, before any work, outputs that would replace an input or
    cannot be written where they are asked for."""
    inputs = {
        os.path.realpath(getattr(FLAGS, name)): name
        for name in _INPUT_FLAGS
        if getattr(FLAGS, name)
    }
    if FLAGS.output_json:
        name = inputs.get(os.path.realpath(FLAGS.output_json))
        if name:
            raise ValueError(
                f"--output_json {FLAGS.output_json} is the --{name} file, "
                "which the results would replace; write them elsewhere."
            )
        if os.path.isdir(FLAGS.output_json):
            raise ValueError(f"--output_json {FLAGS.output_json} is a folder.")
    if FLAGS.save_images:
        if not FLAGS.teacher_model:
            raise ValueError("--save_images needs --teacher_model for the panels.")
        if os.path.exists(FLAGS.images_dir) and not os.path.isdir(FLAGS.images_dir):
            raise ValueError(f"--images_dir {FLAGS.images_dir} is not a folder.")


def main(argv):
    del argv

    if not FLAGS.model:
        raise ValueError("--model is required.")
    _check_outputs()
    model = load_keras_file(FLAGS.model)
    if FLAGS.list_file:
        if FLAGS.num_classes is None:
            raise ValueError("--num_classes is required with --list_file.")
        num_classes, ignore_class, names = FLAGS.num_classes, FLAGS.ignore_class, []
        palette = None
        check_segmenter_fits(model, num_classes, "--num_classes")
        data.check_files(
            *data.read_list_file(FLAGS.list_file), num_classes, ignore_class
        )
        dataset = data.list_file_dataset(
            FLAGS.list_file, num_classes, ignore_class=ignore_class, batch_size=1
        )
    else:
        config = common.config_from_flags()
        num_classes, ignore_class = config.num_classes, config.ignore_class
        names, palette = list(config.class_names), config.palette
        check_segmenter_fits(model, num_classes, "config key num_classes")
        check_splits(config, splits=[config.val_split])
        dataset = build_datasets(config)[1]
    results = evaluate_segmenter(model, dataset, num_classes, ignore_class)
    results.update(model=FLAGS.model, class_names=names)
    print(f"mIoU {100 * results['miou']:.2f} over {results['num_images']} images")
    for k, iou in enumerate(results["per_class_iou"]):
        name = names[k] if k < len(names) else str(k)
        print(f"  {name:>12s} {100 * iou:6.2f}")
    if FLAGS.output_json:
        if os.path.dirname(FLAGS.output_json):
            os.makedirs(os.path.dirname(FLAGS.output_json), exist_ok=True)
        write_json_atomically(results, FLAGS.output_json)
    if FLAGS.save_images:
        models = {"teacher": load_keras_file(FLAGS.teacher_model)}
        if FLAGS.baseline_model:
            models["baseline"] = load_keras_file(FLAGS.baseline_model)
        models["distilled"] = model
        save_panels(
            dataset,
            models,
            FLAGS.save_images,
            num_classes,
            ignore_class,
            FLAGS.images_dir,
            palette,
        )
    print(json.dumps({"miou": results["miou"]}))


def run():
    command.run(main)


if __name__ == "__main__":
    run()
