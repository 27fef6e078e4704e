"""Pixel KD-specific behaviour; the shared checks are in `test_every_loss.py`."""

import numpy as np
import pytest

from keras_pfs.losses.pixel_kd import PixelKDLoss, pixel_kd_loss
from tests.references import pixel_kd


def test_without_mask_every_pixel_counts():
    rng = np.random.default_rng(1)
    teacher, student = rng.normal(size=(2, 2, 4, 5, 6)) * 3
    got = pixel_kd_loss(teacher, student, temperature=1.5)
    want = pixel_kd(teacher, student, np.ones(teacher.shape[:3]), 1.5)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10)


def test_identical_logits_give_zero():
    logits = np.random.default_rng(3).normal(size=(2, 3, 3, 4)).astype("float32")
    np.testing.assert_allclose(pixel_kd_loss(logits, logits).numpy(), 0.0, atol=1e-6)


def test_rejects_non_positive_temperature():
    with pytest.raises(ValueError, match="temperature"):
        PixelKDLoss(temperature=0.0)
