"""Exports of a user's U-Net at any image size (issue 25, point 10)."""

import os

import keras
import numpy as np
import pytest

from keras_pfs import export
from keras_pfs.models import build_segmenter, wrap_segmenter


def unet(interpolation):
    """A two-level U-Net: its skip connections need sides divisible by 4."""
    images = keras.Input((None, None, 3), name="image")
    x = keras.layers.Rescaling(1 / 255.0)(images)
    skips = []
    for width in (4, 8):
        x = keras.layers.Conv2D(width, 3, padding="same", activation="relu")(x)
        skips.append(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="bottom")(x)
    for skip in reversed(skips):
        x = keras.layers.UpSampling2D(interpolation=interpolation)(x)
        x = keras.layers.Concatenate()([x, skip])
    return keras.Model(images, keras.layers.Conv2D(3, 1, name="classes")(x))


def test_bilinear_unet_exports_for_any_size(tmp_path):
    keras.utils.set_random_seed(0)
    segmenter = wrap_segmenter(unet("bilinear"), feature_layer="bottom")
    assert export.size_multiple(segmenter) == 4
    images = np.random.default_rng(0).integers(0, 256, (2, 50, 70, 3), np.uint8)
    output = str(tmp_path / "student" / "1")
    report = export.export_model(
        segmenter, output, "saved_model", parity_images=list(images)
    )
    assert report["passed"] and report["max_abs_diff"] < 1e-5
    serve = export.saved_model_runner(output)
    for height, width in ((50, 70), (37, 41), (21, 64)):
        class_ids, probabilities = serve(images[:1, :height, :width])
        assert class_ids.shape == (1, height, width)
        assert probabilities.shape == (1, height, width, 3)
    # Where the U-Net runs as it is, the padded export predicts what it does.
    expected = segmenter(images[:1, :48, :64].astype("float32"))["logits"]
    np.testing.assert_allclose(
        serve(images[:1, :48, :64])[1], keras.ops.softmax(expected), atol=1e-5
    )


def test_models_that_run_at_any_size_are_exported_unchanged():
    student = build_segmenter("tiny_mobile", 3)
    assert export.size_multiple(student) == 1
    assert export.any_size_segmenter(student) is student


def test_a_failed_export_leaves_no_folder(tmp_path):
    segmenter = build_segmenter("tiny_mobile", 3)
    images = [np.zeros((32, 32, 3), np.uint8)]
    output = tmp_path / "new" / "exports" / "student.tflite"
    with pytest.raises(ValueError, match="needs calibration images"):
        export.export_model(
            segmenter, str(output), "tflite", quantize="int8", parity_images=images
        )
    assert os.listdir(tmp_path) == []
