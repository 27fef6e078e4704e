"""IFVD against a float64 NumPy transcription of its definition."""

import keras
import numpy as np
import pytest

from keras_pfs import losses
from keras_pfs.losses.intra_class_variation import (
    IntraClassVariationLoss,
    intra_class_variation_loss,
)
from tests.loss_checks import (
    assert_gradients_match_reference,
)
from tests.references import resize_bilinear

VOID = 255


def reference(teacher, student, labels, mask, num_classes):
    """Per image, the mean over valid pixels of (cos(f_t, c_t) - cos(f_s, c_s))^2.

    c is the mean feature of the pixel's class in its image; the labels are
    sampled at the centre of each feature cell.
    """
    _, height, width, _ = teacher.shape
    if student.shape[1:3] != teacher.shape[1:3]:
        student = resize_bilinear(student, (height, width))
    rows = (np.arange(height) + 0.5) * labels.shape[1] / height
    cols = (np.arange(width) + 0.5) * labels.shape[2] / width
    grid = np.ix_(np.arange(labels.shape[0]), rows.astype(int), cols.astype(int))
    labels, mask = labels[grid], mask[grid]
    valid = (mask > 0) & (labels >= 0) & (labels < num_classes)

    def variation(features, b):
        values = np.zeros((height, width))
        for k in np.unique(labels[b][valid[b]]):
            members = valid[b] & (labels[b] == k)
            centre = features[b][members].mean(axis=0)
            f = features[b][members]
            values[members] = (f @ centre) / (
                np.linalg.norm(f, axis=-1) * np.linalg.norm(centre)
            )
        return values

    out = np.zeros(teacher.shape[0])
    for b in range(teacher.shape[0]):
        if valid[b].any():
            error = (variation(teacher, b) - variation(student, b)) ** 2
            out[b] = error[valid[b]].mean()
    return out


def _inputs(rng, t_shape, s_shape, label_size, num_classes=3):
    teacher = rng.normal(size=t_shape)
    student = rng.normal(size=s_shape)
    labels = rng.integers(0, num_classes, size=(t_shape[0], *label_size))
    labels[rng.uniform(size=labels.shape) < 0.2] = VOID
    mask = (labels != VOID).astype(np.float64)
    # An in-range label under a zero mask must be void too.
    mask[0, 0, :] = 0.0
    mask[-1] = 0.0  # an image without any labelled pixel
    return teacher, student, labels, mask


# (teacher shape, student shape, label size): labels 4x the feature grid, a
# student on a coarser grid, and a size that does not divide evenly.
CASES = [
    ((3, 4, 4, 5), (3, 4, 4, 3), (16, 16)),
    ((3, 4, 5, 4), (3, 2, 3, 2), (8, 10)),
    ((3, 3, 5, 3), (3, 3, 5, 4), (7, 11)),
]


@pytest.mark.parametrize("t_shape,s_shape,label_size", CASES)
def test_values_match_reference(t_shape, s_shape, label_size):
    teacher, student, labels, mask = _inputs(
        np.random.default_rng(0), t_shape, s_shape, label_size
    )
    got = intra_class_variation_loss(
        teacher.astype("float32"),
        student.astype("float32"),
        labels.astype("int32"),
        3,
        mask.astype("float32"),
    )
    want = reference(teacher, student, labels, mask, 3)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(got), want, rtol=1e-5)
    assert want[-1] == 0.0 and np.all(want[:-1] > 0)


@pytest.mark.parametrize("t_shape,s_shape,label_size", CASES)
def test_gradients_match_finite_differences(t_shape, s_shape, label_size):
    rng = np.random.default_rng(1)
    teacher, student, labels, mask = _inputs(rng, t_shape, s_shape, label_size)
    _, grad_s = assert_gradients_match_reference(
        lambda t, s: intra_class_variation_loss(t, s, labels, 3, mask),
        lambda t, s: reference(t, s, labels, mask, 3),
        teacher,
        student,
        rng,
    )
    assert np.all(np.isfinite(grad_s))


def test_labels_alone_mark_void_without_a_mask():
    teacher, student, labels, _ = _inputs(
        np.random.default_rng(2), (2, 4, 4, 3), (2, 4, 4, 3), (8, 8)
    )
    got = intra_class_variation_loss(teacher, student, labels, 3)
    want = reference(teacher, student, labels, np.ones(labels.shape), 3)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10)


def test_identical_features_give_zero():
    teacher, _, labels, mask = _inputs(
        np.random.default_rng(3), (2, 4, 4, 3), (2, 4, 4, 3), (8, 8)
    )
    teacher = teacher.astype("float32")
    got = intra_class_variation_loss(teacher, teacher, labels, 3, mask)
    np.testing.assert_allclose(got.numpy(), 0.0, atol=1e-7)


def test_rejects_a_non_positive_class_count():
    with pytest.raises(ValueError, match="num_classes"):
        IntraClassVariationLoss(num_classes=0)


def test_registry():
    loss = losses.get("ifvd", num_classes=11)
    assert isinstance(loss, IntraClassVariationLoss) and loss.num_classes == 11
