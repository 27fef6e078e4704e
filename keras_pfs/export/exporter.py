"""Export with a parity gate: write aside, check, then swap into place."""

import os
import shutil
import tempfile

import numpy as np
import tensorflow as tf

from keras_pfs.atomic import write_json_atomically
from keras_pfs.export.any_size import any_size_segmenter
from keras_pfs.export.parity import (
    check_parity,
    keras_runner,
    saved_model_runner,
    tflite_runner,
)
from keras_pfs.export.samples import resize_samples
from keras_pfs.export.serving_model import build_serving_model

FORMATS = ("saved_model", "tflite")
QUANTIZATIONS = ("none", "float16", "dynamic", "int8")
# Written into every SavedModel we export (a .tflite file is recognised by
# its parity report): only a path holding one of ours is ever replaced.
MARKER = "keras_pfs_export.json"


class ParityError(RuntimeError):
    """The exported artifact did not match the Keras model; nothing installed."""


def converter_options(quantize, calibration_images=None):
    """LiteRT converter settings for one quantisation mode.

    Only builtin ops are allowed (no Flex/Select TF ops), so the file runs on
    a stock LiteRT runtime on Android. `int8` asks for integer-only kernels;
    if the converter cannot quantise some op that way it fails, and the
    fallback is `dynamic` (int8 weights, float activations).

    Args:
        quantize: one of `QUANTIZATIONS`.
        calibration_images: uint8 `(H, W, 3)` arrays at the export size,
            required for `int8` (activation ranges are measured on them).

    Returns:
        Keyword arguments for `model.export(path, format="litert", ...)`.

    Example:

    >>> sorted(converter_options("float16"))
    ['optimizations', 'target_spec']
    """
    builtins = {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS]}
    if quantize == "none":
        return {"target_spec": builtins}
    optimize = {"optimizations": [tf.lite.Optimize.DEFAULT]}
    if quantize == "float16":
        return {
            **optimize,
            "target_spec": {**builtins, "supported_types": [tf.float16]},
        }
    if quantize == "dynamic":
        return {**optimize, "target_spec": builtins}
    if quantize == "int8":
        if not calibration_images:
            raise ValueError("int8 quantisation needs calibration images.")

        def representative_dataset():
            for image in calibration_images:
                yield [image[None]]

        return {
            **optimize,
            "representative_dataset": representative_dataset,
            "target_spec": {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]},
        }
    raise ValueError(f"Unknown quantisation {quantize!r}; use one of {QUANTIZATIONS}.")


def report_path(output):
    """Where the parity report of an export to `output` goes."""
    return output.rstrip("/") + ".parity.json"


def failed_report_path(output):
    """Where the report of a failed export goes: the installed artifact's
    report stays as it was."""
    return output.rstrip("/") + ".failed.parity.json"


def _check_output(output, export_format):
    """Refuses an existing `output` that is not one of our exports."""
    if not os.path.lexists(output):
        return
    ours = (
        os.path.isfile(os.path.join(output, MARKER))
        if export_format == "saved_model"
        else os.path.isfile(output) and os.path.isfile(report_path(output))
    )
    if not ours:
        kind = "folder" if os.path.isdir(output) else "file"
        sign = MARKER if export_format == "saved_model" else "its .parity.json report"
        raise ValueError(
            f"Output {output} exists and is not a keras-pfs {export_format} "
            f"export (a {kind} without {sign}); choose a new path or move it away."
        )


def _install(candidate, output):
    """Moves `candidate` to `output` without ever deleting a good `output`
    before the new one is in place."""
    if not os.path.isdir(candidate):
        os.replace(candidate, output)
        return
    previous = None
    if os.path.exists(output):
        previous = tempfile.mkdtemp(
            prefix=os.path.basename(output) + ".old-", dir=os.path.dirname(output)
        )
        previous = os.path.join(previous, "model")
        os.rename(output, previous)
    os.rename(candidate, output)
    if previous is not None:
        shutil.rmtree(os.path.dirname(previous))


def export_model(
    segmenter,
    output,
    export_format,
    quantize="none",
    input_size=None,
    calibration_images=None,
    parity_images=None,
    parity_labels=None,
    num_classes=None,
    ignore_class=255,
    enforce_parity=True,
    thresholds=None,
):
    """Exports `segmenter` for serving and installs it only if parity holds.

    The client-facing model (`build_serving_model`) is exported with Keras
    (`model.export`) into a temporary sibling of `output`, run on
    `parity_images` next to the Keras model (`check_parity`), and moved to
    `output` only if every limit holds, with its report at
    `report_path(output)`. On failure the report goes to
    `failed_report_path(output)` and a previous export at `output` and its
    report are left untouched. An existing `output` must be one of our
    exports (a SavedModel holding `MARKER`, or a .tflite file with its
    report); anything else is refused, so no user file is ever replaced.

    Args:
        segmenter: model from float32 images to logits (or `{"logits": ...}`).
        output: SavedModel directory, or `.tflite` file path.
        export_format: `"saved_model"` (any image size) or `"tflite"`
            (fixed `input_size`).
        quantize: `"none"`, or for tflite `"float16"`, `"dynamic"`, `"int8"`.
        input_size: `(height, width)` of the tflite input; default the
            size of the first parity image.
        calibration_images: uint8 `(H, W, 3)` arrays for int8; resized to
            `input_size`.
        parity_images: uint8 `(H, W, 3)` arrays to compare on (required);
            resized to `input_size` for tflite.
        parity_labels: optional int `(H, W)` label maps of `parity_images`.
        num_classes: classes K, with `parity_labels`.
        ignore_class: void label id.
        enforce_parity: if False, install the artifact even when the gate
            fails (the report still says so); for benchmarks of untrained
            networks, whose near-uniform outputs make argmax agreement noise.
        thresholds: overrides of the format's limits (see `check_parity`).

    Returns:
        The parity report (see `check_parity`) with `format`, `output`,
        `input_size` and `size_bytes` added.

    Raises:
        ParityError: the gate failed (message names the report file).
        ValueError: bad arguments, or `output` is not ours to replace.

    Example:
    ```python
    images, labels = synthetic_samples(8, (180, 240), num_classes=5)
    export_model(student, "student_int8.tflite", "tflite", quantize="int8",
                 calibration_images=images, parity_images=images)
    ```
    """
    if export_format not in FORMATS:
        raise ValueError(f"Unknown format {export_format!r}; use one of {FORMATS}.")
    if quantize not in QUANTIZATIONS:
        raise ValueError(
            f"Unknown quantisation {quantize!r}; use one of {QUANTIZATIONS}."
        )
    if export_format == "saved_model" and quantize != "none":
        raise ValueError("Quantisation applies to tflite only; use quantize='none'.")
    if export_format == "tflite" and not output.endswith(".tflite"):
        raise ValueError(f"TFLite output {output} must end with .tflite.")
    if not parity_images:
        raise ValueError("The parity gate needs at least one image.")
    output = os.path.abspath(output)
    _check_output(output, export_format)
    segmenter = any_size_segmenter(segmenter)
    parent = os.path.dirname(output)
    created = _missing_folders(parent)
    os.makedirs(parent, exist_ok=True)

    workdir = tempfile.mkdtemp(
        prefix=os.path.basename(output) + ".partial-", dir=parent
    )
    try:
        if export_format == "saved_model":
            candidate = os.path.join(workdir, "saved_model")
            build_serving_model(segmenter).export(
                candidate, format="tf_saved_model", verbose=False
            )
            write_json_atomically(
                {"format": export_format}, os.path.join(candidate, MARKER)
            )
            run_export = saved_model_runner(candidate)
            size_bytes = sum(
                os.path.getsize(os.path.join(root, name))
                for root, _, names in os.walk(candidate)
                for name in names
            )
        else:
            input_size = tuple(input_size or np.shape(parity_images[0])[:2])
            parity_images, parity_labels = resize_samples(
                parity_images, parity_labels, input_size
            )
            if calibration_images:
                calibration_images, _ = resize_samples(
                    calibration_images, None, input_size
                )
            candidate = os.path.join(workdir, "model.tflite")
            build_serving_model(segmenter, input_size).export(
                candidate,
                format="litert",
                verbose=False,
                **converter_options(quantize, calibration_images),
            )
            run_export = tflite_runner(candidate)
            size_bytes = os.path.getsize(candidate)

        report = check_parity(
            keras_runner(segmenter),
            run_export,
            parity_images,
            quantize=quantize,
            labels=parity_labels,
            num_classes=num_classes,
            ignore_class=ignore_class,
            thresholds=thresholds,
        )
        report.update(
            format=export_format,
            output=output,
            input_size=list(input_size) if export_format == "tflite" else None,
            size_bytes=size_bytes,
            installed=report["passed"] or not enforce_parity,
        )
        if report["installed"]:
            _install(candidate, output)
            write_json_atomically(report, report_path(output))
        else:
            write_json_atomically(report, failed_report_path(output))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        _remove_if_empty(created)
    if not report["installed"]:
        raise ParityError(
            f"Parity gate failed for {output} ({'; '.join(report['failures'])}); "
            f"nothing installed, report in {failed_report_path(output)}."
        )
    return report


def _missing_folders(folder):
    """The folders `os.makedirs(folder)` would create, deepest first."""
    missing = []
    while not os.path.exists(folder):
        missing.append(folder)
        folder = os.path.dirname(folder)
    return missing


def _remove_if_empty(folders):
    """Removes the folders an export created, deepest first, while they are
    empty: an export that failed before writing anything leaves no empty
    folder where it was to go."""
    for folder in folders:
        if os.listdir(folder):
            return
        os.rmdir(folder)
