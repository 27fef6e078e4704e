import keras
import numpy as np
import pytest

from keras_pfs.models import ResizeLike, build_segmenter, list_presets, wrap_segmenter


@pytest.mark.parametrize("size", [(64, 64), (45, 61)])
def test_tiny_presets_give_full_size_logits_and_stride_8_features(size):
    for preset in ("tiny_resnet", "tiny_mobile"):
        model = build_segmenter(preset, num_classes=3)
        images = np.random.default_rng(0).uniform(0, 255, (2, *size, 3))
        outputs = model(images.astype("float32"))
        assert outputs["logits"].shape == (2, *size, 3)
        assert outputs["features"].shape[1:3] == tuple(-(-s // 8) for s in size)


@pytest.mark.slow
def test_camvid_size_and_teacher_student_ratio():
    teacher = build_segmenter("deeplabv3plus_resnet18", 11)
    student = build_segmenter("deeplabv3plus_mobile", 11)
    assert teacher.count_params() >= 5 * student.count_params()
    outputs = student(np.zeros((1, 180, 240, 3), "float32"))
    assert outputs["logits"].shape == (1, 180, 240, 11)
    assert outputs["features"].shape[1:3] == (23, 30)


def test_presets_are_listed_and_unknown_ones_rejected():
    presets = list_presets()
    assert any(v.startswith("teacher") for v in presets.values())
    assert any(v.startswith("student") for v in presets.values())
    with pytest.raises(ValueError, match="Unknown preset 'resnet1000'"):
        build_segmenter("resnet1000", 3)


def test_wrap_segmenter_exposes_a_named_layer():
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", name="enc")(inputs)
    x = keras.layers.Conv2D(8, 3, padding="same", name="dec")(x)
    logits = keras.layers.Conv2D(4, 1, name="cls")(x)
    model = keras.Model(inputs, logits)
    wrapped = wrap_segmenter(model, feature_layer="dec")
    outputs = wrapped(np.zeros((1, 20, 30, 3), "float32"))
    assert outputs["logits"].shape == (1, 20, 30, 4)
    assert outputs["features"].shape == (1, 10, 15, 8)
    with pytest.raises(ValueError, match="no layer 'decoder'"):
        wrap_segmenter(model, feature_layer="decoder")


def test_wrap_segmenter_repoints_the_features_of_a_two_output_model():
    model = build_segmenter("tiny_mobile", num_classes=3)
    wrapped = wrap_segmenter(model, feature_layer="aspp")
    images = np.random.default_rng(0).uniform(0, 255, (1, 64, 64, 3))
    images = images.astype("float32")
    outputs, original = wrapped(images), model(images)
    np.testing.assert_array_equal(outputs["logits"], original["logits"])
    aspp = keras.Model(model.inputs, model.get_layer("aspp").output)(images)
    np.testing.assert_array_equal(outputs["features"], aspp)
    assert outputs["features"].shape[1:3] == (4, 4)  # stride 16, not 8
    assert len(wrapped.weights) == len(model.weights)  # shared, not copied


def test_resize_like_round_trips_config():
    layer = ResizeLike(interpolation="nearest")
    assert ResizeLike.from_config(layer.get_config()).interpolation == "nearest"


def _segmenter(last_layer="cls"):
    """A small functional segmenter; its input is named "image"."""
    images = keras.Input((None, None, 3), name="image")
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", name="enc")(images)
    return keras.Model(images, keras.layers.Conv2D(4, 1, name=last_layer)(x))


def test_wrap_segmenter_keeps_a_models_own_logits_layer():
    # Issue 25, point 6: the wrapper's resize was also named "logits".
    model = _segmenter(last_layer="logits")
    wrapped = wrap_segmenter(model, feature_layer="enc")
    outputs = wrapped(np.zeros((1, 20, 30, 3), "float32"))
    assert outputs["logits"].shape == (1, 20, 30, 4)
    assert wrapped.get_layer("logits") is model.get_layer("logits")
    # ... and a wrapped model wraps again.
    rewrapped = wrap_segmenter(wrapped, feature_layer="enc")
    outputs = rewrapped(np.zeros((1, 20, 30, 3), "float32"))
    assert outputs["logits"].shape == (1, 20, 30, 4)


def test_wrapped_model_called_on_a_tensor_does_not_warn(recwarn):
    # Issue 25, point 8: the model was built on a one-element input list.
    wrapped = wrap_segmenter(_segmenter(), feature_layer="enc")
    wrapped(np.zeros((1, 16, 16, 3), "float32"))
    messages = [str(warning.message) for warning in recwarn]
    assert not [m for m in messages if "structure of `inputs`" in m], messages
