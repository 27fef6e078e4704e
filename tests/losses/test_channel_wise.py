"""CWD-specific behaviour; the shared checks are in `test_every_loss.py`."""

import numpy as np
import pytest

from keras_pfs import losses
from keras_pfs.losses.channel_wise import ChannelWiseLoss, channel_wise_loss
from tests.references import channel_wise


def test_without_mask_is_the_published_full_map_loss():
    rng = np.random.default_rng(1)
    teacher, student = rng.normal(size=(2, 2, 6, 5, 4)) * 3
    got = channel_wise_loss(teacher.astype("float32"), student.astype("float32"))
    want = channel_wise(teacher, student, np.ones(teacher.shape[:3]), 4.0)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5)


def test_identical_logits_give_zero():
    logits = np.random.default_rng(4).normal(size=(2, 4, 4, 3)).astype("float32")
    np.testing.assert_allclose(
        channel_wise_loss(logits, logits).numpy(), 0.0, atol=1e-6
    )


def test_rejects_non_positive_temperature():
    with pytest.raises(ValueError, match="temperature"):
        ChannelWiseLoss(temperature=-1.0)


def test_defaults_to_the_papers_temperature():
    assert losses.get("cwd").temperature == 4.0
