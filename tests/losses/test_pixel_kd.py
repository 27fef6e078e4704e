"""Pixel-wise KD against a float64 NumPy transcription of its definition."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_pfs import losses
from keras_pfs.losses.pixel_kd import PixelKDLoss, pixel_kd_loss
from tests.loss_checks import (
    assert_gradients_match_reference,
)


def _log_softmax(x):
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def reference(teacher, student, mask, temperature):
    """Mean over valid pixels of KL(softmax(t/T) || softmax(s/T)) * T^2."""
    log_p_t = _log_softmax(teacher / temperature)
    log_p_s = _log_softmax(student / temperature)
    kl = (np.exp(log_p_t) * (log_p_t - log_p_s)).sum(-1) * temperature**2
    count = mask.sum(axis=(1, 2))
    return np.where(count > 0, (kl * mask).sum(axis=(1, 2)) / np.maximum(count, 1), 0)


def _inputs(rng, shape=(3, 4, 5, 6)):
    teacher = rng.normal(size=shape) * 3
    student = rng.normal(size=shape) * 3
    mask = (rng.uniform(size=shape[:3]) > 0.3).astype(np.float64)
    mask[-1] = 0.0  # an image without any labelled pixel
    return teacher, student, mask


@pytest.mark.parametrize("temperature", [1.0, 4.0])
def test_values_match_reference(temperature):
    teacher, student, mask = _inputs(np.random.default_rng(0))
    got = pixel_kd_loss(
        teacher.astype("float32"),
        student.astype("float32"),
        mask.astype("float32"),
        temperature=temperature,
    )
    want = reference(teacher, student, mask, temperature)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(got), want, rtol=1e-5)
    assert want[-1] == 0.0


@pytest.mark.parametrize("temperature", [1.0, 2.5])
def test_gradients_match_finite_differences(temperature):
    rng = np.random.default_rng(1)
    teacher, student, mask = _inputs(rng, shape=(2, 2, 3, 4))
    assert_gradients_match_reference(
        lambda t, s: pixel_kd_loss(t, s, mask, temperature=temperature),
        lambda t, s: reference(t, s, mask, temperature),
        teacher,
        student,
        rng,
    )


def test_void_pixels_contribute_nothing():
    teacher, student, mask = _inputs(np.random.default_rng(2))
    noisy = np.where(mask[..., None] > 0, student, student + 100.0)
    s_var = tf.Variable(noisy.astype("float32"))
    with tf.GradientTape() as tape:
        values = pixel_kd_loss(teacher.astype("float32"), s_var, mask.astype("float32"))
        total = tf.reduce_sum(values)
    grad = tape.gradient(total, s_var).numpy()
    np.testing.assert_allclose(
        values.numpy(), reference(teacher, student, mask, 1.0), rtol=1e-5
    )
    assert np.all(grad[mask == 0] == 0) and np.all(np.isfinite(grad))


def test_identical_logits_give_zero():
    logits = np.random.default_rng(3).normal(size=(2, 3, 3, 4)).astype("float32")
    np.testing.assert_allclose(pixel_kd_loss(logits, logits).numpy(), 0.0, atol=1e-6)


def test_rejects_non_positive_temperature():
    with pytest.raises(ValueError, match="temperature"):
        PixelKDLoss(temperature=0.0)


def test_registry():
    loss = losses.get("kd", temperature=2.0)
    assert isinstance(loss, PixelKDLoss) and loss.temperature == 2.0
