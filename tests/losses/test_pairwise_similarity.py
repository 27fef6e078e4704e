"""SKD pair-wise loss against a float64 NumPy transcription of its definition."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_pfs import losses
from keras_pfs.losses.pairwise_similarity import (
    PairwiseSimilarityLoss,
    _pool_nodes,
    pairwise_similarity_loss,
)
from tests.loss_checks import (
    assert_gradients_match_reference,
)
from tests.references import resize_bilinear


def pool_nodes(x, scale):
    """nn.MaxPool2d(kernel=stride=int(scale * size), ceil_mode=True), NHWC."""
    _, height, width, _ = x.shape
    kh, kw = max(int(height * scale), 1), max(int(width * scale), 1)
    nodes = [
        [x[:, i : i + kh, j : j + kw].max(axis=(1, 2)) for j in range(0, width, kw)]
        for i in range(0, height, kh)
    ]
    return np.stack([np.stack(row, axis=1) for row in nodes], axis=1)


def reference(teacher, student, scale):
    """Mean over node pairs of the squared cosine-affinity difference."""
    if student.shape[1:3] != teacher.shape[1:3]:
        student = resize_bilinear(student, teacher.shape[1:3])

    def affinity(x):
        nodes = pool_nodes(x, scale).reshape(x.shape[0], -1, x.shape[-1])
        nodes = nodes / np.linalg.norm(nodes, axis=-1, keepdims=True)
        return nodes @ nodes.transpose(0, 2, 1)

    return ((affinity(teacher) - affinity(student)) ** 2).mean(axis=(1, 2))


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


@pytest.mark.parametrize("t_shape,s_shape,scale", CASES)
def test_gradients_match_finite_differences(t_shape, s_shape, scale):
    rng = np.random.default_rng(1)
    teacher, student = rng.normal(size=t_shape), rng.normal(size=s_shape)
    assert_gradients_match_reference(
        lambda t, s: pairwise_similarity_loss(t, s, pool_scale=scale),
        lambda t, s: reference(t, s, scale),
        teacher,
        student,
        rng,
    )


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


@pytest.mark.parametrize("size,nodes", [(65, 3), (64, 2), (33, 3), (3, 3)])
def test_node_grid_follows_official_ceil_mode_pooling(size, nodes):
    features = np.random.default_rng(2).normal(size=(1, size, size, 2))
    pooled = _pool_nodes(features, 0.5)
    assert tuple(pooled.shape) == (1, nodes, nodes, 2)
    np.testing.assert_array_equal(pooled, pool_nodes(features, 0.5))


def test_identical_features_give_zero():
    features = np.random.default_rng(3).normal(size=(2, 6, 6, 4)).astype("float32")
    np.testing.assert_allclose(
        pairwise_similarity_loss(features, features).numpy(), 0.0, atol=1e-7
    )


@pytest.mark.parametrize("scale", [0.0, 1.5])
def test_rejects_pool_scale_outside_unit_interval(scale):
    with pytest.raises(ValueError, match="pool_scale"):
        PairwiseSimilarityLoss(pool_scale=scale)


def test_registry():
    loss = losses.get("skd", pool_scale=0.25)
    assert isinstance(loss, PairwiseSimilarityLoss) and loss.pool_scale == 0.25
