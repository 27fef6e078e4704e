"""Export segmenters for LiteRT (TFLite) and TF Serving behind a parity gate.

`build_serving_model` wraps a segmenter as uint8 `images` in, `class_ids` and
`probabilities` out; `export_model` exports it with Keras `model.export`,
checks the artifact against the Keras model (`check_parity`) and installs it
only if the format's `THRESHOLDS` hold. `any_size_segmenter` makes a model
that needs image sides divisible by its stride (a U-Net) run at any size.
"""

from keras_pfs.export.any_size import any_size_segmenter, size_multiple
from keras_pfs.export.exporter import (
    FORMATS,
    MARKER,
    QUANTIZATIONS,
    ParityError,
    converter_options,
    export_model,
    failed_report_path,
    report_path,
)
from keras_pfs.export.parity import (
    THRESHOLDS,
    check_parity,
    keras_runner,
    runner_miou,
    saved_model_runner,
    serving_runner,
    tflite_runner,
)
from keras_pfs.export.samples import (
    list_file_samples,
    resize_samples,
    synthetic_samples,
)
from keras_pfs.export.serving_model import (
    INPUT_NAME,
    build_serving_model,
)

__all__ = [
    "FORMATS",
    "INPUT_NAME",
    "MARKER",
    "QUANTIZATIONS",
    "THRESHOLDS",
    "ParityError",
    "any_size_segmenter",
    "build_serving_model",
    "check_parity",
    "converter_options",
    "export_model",
    "failed_report_path",
    "keras_runner",
    "list_file_samples",
    "report_path",
    "resize_samples",
    "runner_miou",
    "saved_model_runner",
    "serving_runner",
    "size_multiple",
    "synthetic_samples",
    "tflite_runner",
]
