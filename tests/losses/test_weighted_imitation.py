import numpy as np
import pytest
import tensorflow as tf

from keras_pfs.losses import (
    WeightedImitationLoss,
    knowledge_gap_weights,
    weighted_imitation_loss,
)
from keras_pfs.losses.weighted_imitation import WEIGHTINGS
from tests.references import masked_mean, pixel_kl, softmax

RNG = np.random.default_rng(1)
T = 2.0


def make_inputs(shape=(3, 5, 6, 4)):
    teacher = RNG.normal(size=shape) * 2
    student = RNG.normal(size=shape)
    mask = (RNG.uniform(size=shape[:3]) > 0.3).astype(float)
    mask[2] = 0.0  # an image that is entirely void
    return teacher, student, mask


def reference_gap(weighting, teacher, student):
    p_t, p_s = softmax(teacher, T), softmax(student, T)
    return {
        "uniform": np.ones(teacher.shape[:3]),
        "kl": pixel_kl(teacher, student, T),
        "tv": 0.5 * np.abs(p_t - p_s).sum(-1),
    }[weighting]


def reference_weights(weighting, teacher, student, mask):
    gap = reference_gap(weighting, teacher, student)
    mean_gap = masked_mean(gap, mask)[:, None, None]
    return (gap + 1e-8) / (mean_gap + 1e-8) * mask


def test_every_weighting_has_a_reference():
    assert set(WEIGHTINGS) == {"uniform", "kl", "tv"}


@pytest.mark.parametrize("weighting", sorted(WEIGHTINGS))
def test_value_matches_float64_reference(weighting):
    teacher, student, mask = make_inputs()
    weights = reference_weights(weighting, teacher, student, mask)
    expected = masked_mean(pixel_kl(teacher, student, T) * T**2 * weights, mask)
    actual = weighted_imitation_loss(
        teacher.astype("float32"),
        student.astype("float32"),
        mask.astype("float32"),
        temperature=T,
        weighting=weighting,
    )
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-7)
    assert actual[2] == 0.0


@pytest.mark.parametrize("weighting", sorted(WEIGHTINGS))
def test_weights_average_one_over_valid_pixels(weighting):
    teacher, student, mask = make_inputs()
    weights = knowledge_gap_weights(teacher, student, mask, weighting, T)
    np.testing.assert_allclose(masked_mean(np.asarray(weights), mask)[:2], 1.0, 1e-5)
    assert np.all(np.asarray(weights)[mask == 0] == 0)


def test_uniform_weighting_is_plain_pixel_kd():
    teacher, student, mask = make_inputs()
    plain_kd = masked_mean(pixel_kl(teacher, student, T) * T**2, mask)
    uniform = weighted_imitation_loss(teacher, student, mask, T, "uniform")
    np.testing.assert_allclose(uniform, plain_kd, rtol=1e-6)


def test_void_pixels_contribute_nothing():
    teacher, student, mask = make_inputs()
    changed = student.copy()
    changed[mask == 0] = RNG.normal(size=changed[mask == 0].shape) * 10
    for weighting in WEIGHTINGS:
        a = weighted_imitation_loss(teacher, student, mask, T, weighting)
        b = weighted_imitation_loss(teacher, changed, mask, T, weighting)
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize("weighting", sorted(WEIGHTINGS))
def test_weights_carry_no_gradient(weighting):
    teacher, student, mask = make_inputs()
    weights = reference_weights(weighting, teacher, student, mask)
    count = np.maximum(mask.sum((1, 2)), 1)[:, None, None, None]
    # d/dz_s of T^2 KL(p_t || p_s) with fixed weights is T (p_s - p_t).
    expected = (
        weights[..., None] * T * (softmax(student, T) - softmax(teacher, T)) / count
    )
    s_var = tf.Variable(student)
    t_var = tf.Variable(teacher)
    with tf.GradientTape(persistent=True) as tape:
        loss = tf.reduce_sum(weighted_imitation_loss(t_var, s_var, mask, T, weighting))
        w = knowledge_gap_weights(t_var, s_var, mask, weighting, T)
    grad = tape.gradient(loss, s_var).numpy()
    assert np.linalg.norm(grad - expected) / np.linalg.norm(expected) < 1e-5
    assert tape.gradient(loss, t_var) is None
    assert tape.gradient(w, s_var) is None


def test_class_form_validates_its_arguments():
    with pytest.raises(ValueError, match="weighting"):
        WeightedImitationLoss(weighting="entropy")
    with pytest.raises(ValueError, match="temperature"):
        WeightedImitationLoss(temperature=0)
