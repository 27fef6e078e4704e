"""Pseudo-label-specific behaviour; the shared checks are in `test_every_loss.py`
(whose inputs mask out every void pixel, so there this loss is 0 throughout)."""

import keras
import numpy as np
import pytest

from keras_pfs.losses.pseudo_label import PseudoLabelLoss, pseudo_label_loss
from tests.loss_checks import assert_gradients_match_reference, distillation_inputs
from tests.references import pseudo_label


def _inputs():
    teacher, student, labels, _ = distillation_inputs(np.random.default_rng(4))
    return teacher["logits"], student["logits"], labels, np.ones(labels.shape)


@pytest.mark.parametrize("threshold", [0.0, 0.6])
def test_matches_the_reference_on_unlabelled_pixels(threshold):
    teacher, student, labels, mask = _inputs()
    got = keras.ops.convert_to_numpy(
        pseudo_label_loss(teacher, student, labels, mask, threshold)
    )
    want = pseudo_label(teacher, student, labels, mask, threshold)
    assert np.all(want > 0)  # every image has unlabelled pixels here
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_gradients_match_finite_differences():
    teacher, student, labels, mask = _inputs()
    assert_gradients_match_reference(
        lambda t, s: pseudo_label_loss(t, s, labels, mask, 0.5),
        lambda t, s: pseudo_label(t, s, labels, mask, 0.5),
        teacher,
        student,
        np.random.default_rng(5),
    )


def test_labelled_pixels_and_unconfident_ones_contribute_nothing():
    teacher, student, labels, mask = _inputs()
    labelled = np.where(labels >= 0, np.minimum(labels, 2), labels)
    labelled[labels > 2] = 0  # every pixel gets a class
    np.testing.assert_allclose(
        pseudo_label_loss(teacher, student, labelled, mask).numpy(), 0.0
    )
    # No softmax over 3 classes reaches probability 1 at these logits.
    np.testing.assert_allclose(
        pseudo_label_loss(teacher, student, labels, mask, 1.0).numpy(), 0.0
    )


def test_rejects_a_threshold_outside_0_1():
    with pytest.raises(ValueError, match="threshold"):
        PseudoLabelLoss(threshold=1.5)
