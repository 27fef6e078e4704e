"""CWD against a float64 NumPy transcription of its definition."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_pfs import losses
from keras_pfs.losses.channel_wise import ChannelWiseLoss, channel_wise_loss
from tests.loss_checks import (
    assert_gradients_match_reference,
)


def reference(teacher, student, mask, temperature):
    """T^2 / K * sum_k KL(softmax_space(t_k / T) || softmax_space(s_k / T)).

    The spatial softmaxes run over each image's valid pixels only.
    """
    values = np.zeros(teacher.shape[0])
    for b in range(teacher.shape[0]):
        valid = mask[b] > 0
        if not valid.any():
            continue
        t = teacher[b][valid] / temperature  # (N_valid, K)
        s = student[b][valid] / temperature
        log_p_t = t - np.log(np.exp(t).sum(axis=0))
        log_p_s = s - np.log(np.exp(s).sum(axis=0))
        kl = (np.exp(log_p_t) * (log_p_t - log_p_s)).sum(axis=0)
        values[b] = kl.mean() * temperature**2
    return values


def _inputs(rng, shape=(3, 6, 5, 4)):
    teacher = rng.normal(size=shape) * 3
    student = rng.normal(size=shape) * 3
    mask = (rng.uniform(size=shape[:3]) > 0.3).astype(np.float64)
    mask[-1] = 0.0  # an image without any labelled pixel
    return teacher, student, mask


@pytest.mark.parametrize("temperature", [1.0, 4.0])
def test_values_match_reference(temperature):
    teacher, student, mask = _inputs(np.random.default_rng(0))
    got = channel_wise_loss(
        teacher.astype("float32"),
        student.astype("float32"),
        mask.astype("float32"),
        temperature=temperature,
    )
    want = reference(teacher, student, mask, temperature)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(got), want, rtol=1e-5)
    assert want[-1] == 0.0


def test_without_mask_is_the_published_full_map_loss():
    teacher, student, _ = _inputs(np.random.default_rng(1))
    got = channel_wise_loss(teacher.astype("float32"), student.astype("float32"))
    want = reference(teacher, student, np.ones(teacher.shape[:3]), 4.0)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5)


@pytest.mark.parametrize("temperature", [1.0, 4.0])
def test_gradients_match_finite_differences(temperature):
    rng = np.random.default_rng(2)
    teacher, student, mask = _inputs(rng, shape=(3, 3, 3, 3))
    assert_gradients_match_reference(
        lambda t, s: channel_wise_loss(t, s, mask, temperature=temperature),
        lambda t, s: reference(t, s, mask, temperature),
        teacher,
        student,
        rng,
    )


def test_void_pixels_contribute_nothing():
    teacher, student, mask = (
        x.astype("float32") for x in _inputs(np.random.default_rng(3))
    )
    # Huge void logits would dominate an unmasked spatial softmax.
    noisy = np.where(mask[..., None] > 0, student, np.float32(1e4))
    s_var = tf.Variable(noisy)
    with tf.GradientTape() as tape:
        values = channel_wise_loss(teacher, s_var, mask)
        total = tf.reduce_sum(values)
    grad = tape.gradient(total, s_var).numpy()
    want = reference(teacher.astype(np.float64), student.astype(np.float64), mask, 4.0)
    np.testing.assert_allclose(values.numpy(), want, rtol=1e-5)
    assert np.all(grad[mask == 0] == 0) and np.all(np.isfinite(grad))


def test_identical_logits_give_zero():
    logits = np.random.default_rng(4).normal(size=(2, 4, 4, 3)).astype("float32")
    np.testing.assert_allclose(
        channel_wise_loss(logits, logits).numpy(), 0.0, atol=1e-6
    )


def test_rejects_non_positive_temperature():
    with pytest.raises(ValueError, match="temperature"):
        ChannelWiseLoss(temperature=-1.0)


def test_registry():
    loss = losses.get("cwd")
    assert isinstance(loss, ChannelWiseLoss) and loss.temperature == 4.0
