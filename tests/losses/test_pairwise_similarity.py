"""SKD-specific behaviour; the shared checks are in `test_every_loss.py`."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_pfs.losses.pairwise_similarity import (
    PairwiseSimilarityLoss,
    pairwise_similarity_loss,
)
from tests.references import pairwise_similarity as reference

# (teacher shape, student shape, pool_scale): an odd grid giving 3 x 3 nodes
# with partial last patches, an even one giving 2 x 2, a student on a coarser
# grid, and nodes outnumbering channels (the Gram branch).
CASES = [
    ((2, 7, 9, 6), (2, 7, 9, 4), 0.5),
    ((2, 8, 8, 5), (2, 8, 8, 5), 0.5),
    ((2, 6, 7, 4), (2, 3, 4, 3), 0.5),
    ((2, 10, 9, 3), (2, 10, 9, 2), 0.2),
]


@pytest.mark.parametrize("t_shape,s_shape,scale", CASES)
def test_values_match_reference(t_shape, s_shape, scale):
    rng = np.random.default_rng(0)
    teacher, student = rng.normal(size=t_shape), rng.normal(size=s_shape)
    got = pairwise_similarity_loss(
        teacher.astype("float32"), student.astype("float32"), pool_scale=scale
    )
    want = reference(teacher, student, scale)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(got), want, rtol=1e-5)


def test_sizes_known_only_at_run_time_give_the_same_values():
    rng = np.random.default_rng(3)
    teacher = rng.normal(size=(2, 23, 30, 4)).astype("float32")
    student = rng.normal(size=(2, 12, 15, 3)).astype("float32")
    traced = tf.function(
        lambda t, s: pairwise_similarity_loss(t, s, pool_scale=0.25),
        input_signature=[
            tf.TensorSpec((None, None, None, 4), tf.float32),
            tf.TensorSpec((None, None, None, 3), tf.float32),
        ],
    )
    np.testing.assert_allclose(
        traced(teacher, student).numpy(),
        reference(teacher.astype(np.float64), student.astype(np.float64), 0.25),
        rtol=1e-5,
    )


def test_identical_features_give_zero():
    features = np.random.default_rng(3).normal(size=(2, 6, 6, 4)).astype("float32")
    np.testing.assert_allclose(
        pairwise_similarity_loss(features, features).numpy(), 0.0, atol=1e-7
    )


@pytest.mark.parametrize("scale", [0.0, 1.5])
def test_rejects_pool_scale_outside_unit_interval(scale):
    with pytest.raises(ValueError, match="pool_scale"):
        PairwiseSimilarityLoss(pool_scale=scale)
