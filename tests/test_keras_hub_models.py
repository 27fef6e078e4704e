"""keras-hub segmenters through `models.from_keras_hub`, offline."""

import logging

import numpy as np
import pytest

from keras_pfs.models import build_segmenter, from_keras_hub, load_keras_file
from tests.tiny_keras_hub import NUM_CLASSES, tiny_deeplab, tiny_segformer


def test_deeplab_folds_the_preprocessor_and_finds_the_stride_8_map(caplog):
    segmenter = tiny_deeplab()
    with caplog.at_level(logging.INFO, logger="keras_pfs.models"):
        model = from_keras_hub(segmenter)
    assert "'P3', the stride-8 feature map" in caplog.text
    images = np.random.default_rng(0).uniform(0, 255, (2, 32, 48, 3))
    outputs = model(images)
    converter = segmenter.preprocessor.image_converter
    expected = segmenter(
        images * np.array(converter.scale) + converter.offset, training=False
    )
    np.testing.assert_allclose(outputs["logits"], expected, rtol=1e-4, atol=1e-4)
    assert outputs["features"].shape == (2, 4, 6, 8)  # ResNet P3: stride 8
    with pytest.raises(ValueError, match="has no feature map 'P9'"):
        from_keras_hub(segmenter, feature_layer="P9")


def test_segformer_matches_the_keras_hub_model_at_its_size():
    segmenter = tiny_segformer()
    model = from_keras_hub(segmenter)
    images = np.random.default_rng(1).uniform(0, 255, (1, 32, 32, 3))
    batch_norm = segmenter.backbone.linear_fuse.layers[1]
    moving_mean = batch_norm.moving_mean.numpy()
    logits = model(images)["logits"]
    # keras-hub's own segmenter(x) is not inference: its Resizing leaks
    # training=True to the BatchNorm after it; ours must be.
    np.testing.assert_array_equal(batch_norm.moving_mean.numpy(), moving_mean)
    np.testing.assert_allclose(
        logits,
        segmenter(images / 255.0, training=False),
        rtol=1e-4,
        atol=1e-4,
    )
    np.testing.assert_allclose(
        logits, model.predict(images, verbose=0)["logits"], rtol=1e-5, atol=1e-5
    )
    # ... and still trains when fit asks for it (batch statistics).
    assert not np.allclose(model(images, training=True)["logits"], logits, atol=1e-3)


def test_segformer_is_resized_in_and_out():
    model = from_keras_hub(tiny_segformer())
    outputs = model(np.zeros((1, 40, 56, 3)))
    assert outputs["logits"].shape == (1, 40, 56, NUM_CLASSES)
    assert outputs["features"].shape == (1, 4, 4, 16)  # MiT P2: stride 8 of 32


@pytest.mark.parametrize("segmenter", [tiny_deeplab, tiny_segformer])
def test_wrapped_model_loads_back_from_a_keras_file(segmenter, tmp_path):
    model = from_keras_hub(segmenter())
    path = str(tmp_path / "teacher.keras")
    model.save(path)
    reloaded = load_keras_file(path)
    images = np.random.default_rng(2).uniform(0, 255, (1, 32, 32, 3))
    expected, outputs = model(images), reloaded(images)
    for key in ("logits", "features"):
        np.testing.assert_allclose(outputs[key], expected[key], rtol=1e-5, atol=1e-5)


def test_preset_directory_through_build_segmenter(tmp_path):
    tiny_deeplab().save_to_preset(str(tmp_path / "deeplab"))
    model = build_segmenter(f"keras_hub:{tmp_path / 'deeplab'}", NUM_CLASSES)
    assert sorted(model.output) == ["features", "logits"]
    with pytest.raises(ValueError, match="predicts 3 classes but the config"):
        build_segmenter(f"keras_hub:{tmp_path / 'deeplab'}", 5)
    with pytest.raises(ValueError, match="could not be loaded"):
        build_segmenter(f"keras_hub:{tmp_path / 'missing'}", NUM_CLASSES)
