r"""keras-pfs-export: SavedModel or TFLite file behind a parity gate.

Examples:
    keras-pfs-export --model runs/d/model.keras --format saved_model \
        --output export/student/1
    keras-pfs-export --model runs/d/model.keras --format tflite --quantize int8 \
        --input_size 180,240 --calibration_list ../shared/datasets/camvid/train.txt \
        --parity_list ../shared/datasets/camvid/val.txt --num_classes 11 \
        --ignore_class 11 --output export/student_int8.tflite

Exit status 1 if the parity gate fails (the previous export and its report stay
in place), 2 on bad input (model, data or an --output that is not ours).
"""

import json
import os
import sys

from absl import flags

from keras_pfs import data, export
from keras_pfs.cli import command
from keras_pfs.models import check_segmenter_fits, load_keras_file
from keras_pfs.run_directory import RunDirectory

flags.DEFINE_string("model", None, "Saved model (.keras).")
flags.DEFINE_enum("format", None, list(export.FORMATS), "Artifact to write.")
flags.DEFINE_enum(
    "quantize", "none", list(export.QUANTIZATIONS), "TFLite quantisation."
)
flags.DEFINE_string(
    "output",
    None,
    "SavedModel directory, or .tflite file; the parity report "
    "goes to OUTPUT.parity.json.",
)
flags.DEFINE_string(
    "input_size",
    None,
    "TFLite input H,W; default the training crop_size in "
    "config.json beside --model, else 180,240.",
)
flags.DEFINE_string("calibration_list", None, "List file of int8 calibration images.")
flags.DEFINE_integer("calibration_samples", 100, "Calibration images to use.")
flags.DEFINE_string(
    "parity_list",
    None,
    "List file of parity images; default the held-out list of the list_file "
    "dataset in config.json beside --model, else synthetic images.",
)
flags.DEFINE_integer("parity_samples", 8, "Images to compare on.")
flags.DEFINE_integer("num_classes", None, "Classes, to read --parity_list labels.")
flags.DEFINE_integer("ignore_class", 255, "Void id in --parity_list labels.")
flags.DEFINE_float(
    "max_abs_diff", None, "Parity limit on probabilities; default per format."
)
flags.DEFINE_float(
    "min_agreement", None, "Parity limit on argmax agreement; default per format."
)
flags.DEFINE_float(
    "max_miou_drop", None, "Parity limit on the mIoU drop; default per format."
)

FLAGS = flags.FLAGS
# Synthetic parity images when neither the flags nor the model's config name
# a size: any size works for a SavedModel, and a tflite input takes theirs.
_SYNTHETIC_SIZE = (128, 128)


def _model_config():
    """The training config.json beside --model, or {}."""
    run = RunDirectory(os.path.dirname(os.path.abspath(FLAGS.model)))
    return run.read_config() if run.has(run.CONFIG) else {}


def _input_size():
    """--input_size, else the size the model was trained on (config.json
    beside --model: the crop, else the image size of a fixed-size dataset
    such as the synthetic one), else None."""
    if FLAGS.input_size:
        try:
            height, width = (int(v) for v in FLAGS.input_size.split(","))
        except ValueError:
            raise ValueError(
                f"--input_size must be H,W (e.g. 180,240), got {FLAGS.input_size!r}."
            ) from None
        return height, width
    config = _model_config()
    size = config.get("crop_size")
    reader = data.READERS.get(config.get("dataset"))
    if not size and reader is not None and reader.fixed_size:
        size = config.get("image_size")
    return tuple(size) if size else None


def _parity_data():
    """`(list file, num_classes, ignore_class, where)` for the parity gate:
    the flags, else the held-out list file of the model's own training data
    (when its reader reads list files)."""
    if FLAGS.parity_list:
        return FLAGS.parity_list, FLAGS.num_classes, FLAGS.ignore_class, "--num_classes"
    config = _model_config()
    reader = data.READERS.get(config.get("dataset"))
    list_file = None
    if reader is not None and config.get("data_dir"):
        list_file = reader.list_file(config["data_dir"], config["val_split"])
    if list_file:
        return (
            list_file,
            config["num_classes"],
            config["ignore_class"],
            "num_classes in config.json beside --model",
        )
    return None, None, FLAGS.ignore_class, None


def _parity_samples(model):
    list_file, num_classes, ignore_class, where = _parity_data()
    if num_classes is not None:
        check_segmenter_fits(model, num_classes, where)
    if list_file:
        print(f"Parity gate on {list_file}")
        return export.list_file_samples(
            list_file, FLAGS.parity_samples, num_classes, ignore_class
        ), (num_classes, ignore_class)
    # Synthetic images have at most 7 classes; their labels mean nothing to a
    # model trained on other data, so only the two models are compared.
    num_outputs = int(model.output["logits"].shape[-1])
    images, _ = export.synthetic_samples(
        FLAGS.parity_samples, _input_size() or _SYNTHETIC_SIZE, min(num_outputs, 7)
    )
    return (images, None), (None, ignore_class)


def main(argv):
    del argv
    for name in ("model", "format", "output"):
        if not getattr(FLAGS, name):
            raise ValueError(f"--{name} is required.")
    if FLAGS.quantize == "int8" and not FLAGS.calibration_list:
        raise ValueError("--calibration_list is required with --quantize int8.")
    if FLAGS.parity_list and FLAGS.num_classes is None:
        raise ValueError(
            "--parity_list needs --num_classes (and --ignore_class) to read its "
            "labels for the parity gate's mIoU check."
        )
    model = load_keras_file(FLAGS.model)
    (images, labels), (num_classes, ignore_class) = _parity_samples(model)
    calibration = None
    if FLAGS.quantize == "int8":
        calibration, _ = export.list_file_samples(
            FLAGS.calibration_list, FLAGS.calibration_samples
        )
    thresholds = {
        name: getattr(FLAGS, name)
        for name in ("max_abs_diff", "min_agreement", "max_miou_drop")
        if getattr(FLAGS, name) is not None
    }
    try:
        report = export.export_model(
            model,
            FLAGS.output,
            FLAGS.format,
            quantize=FLAGS.quantize,
            input_size=_input_size(),
            calibration_images=calibration,
            parity_images=images,
            parity_labels=labels,
            num_classes=num_classes,
            ignore_class=ignore_class,
            thresholds=thresholds,
        )
    except export.ParityError as error:
        print(error, file=sys.stderr)
        sys.exit(1)
    print(f"Exported {report['output']} ({report['size_bytes']} bytes)")
    print(json.dumps({k: report[k] for k in ("passed", "max_abs_diff", "agreement")}))


def run():
    command.run(main)


if __name__ == "__main__":
    run()
