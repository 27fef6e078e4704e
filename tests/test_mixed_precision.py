"""The Distiller under mixed precision: float32 losses, unscaled gradients."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_pfs import Distiller
from keras_pfs.models import build_segmenter

NUM_CLASSES = 4
# Relative tolerances of the logged loss terms against float32. Measured on
# these models: float16 at most 4e-4 (imitation), bfloat16 at most 4e-3
# (pfs); bfloat16 keeps 8 mantissa bits to float16's 11.
TOLERANCE = {"mixed_float16": 2e-3, "mixed_bfloat16": 2e-2}


def tiny_dataset(num=8, batch=4):
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (num, 32, 32, 3)).astype("float32")
    labels = np.argmax(images, axis=-1).astype("int32")
    labels[:, :2] = 255
    return tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch)


@pytest.fixture(scope="module")
def float32_weights():
    keras.utils.set_random_seed(3)
    student = build_segmenter("tiny_mobile", NUM_CLASSES)
    teacher = build_segmenter("tiny_resnet", NUM_CLASSES)
    return student.get_weights(), teacher.get_weights()


def distiller_under(policy, weights, optimizer):
    """A Distiller whose models are built under `policy` from `weights`."""
    keras.mixed_precision.set_dtype_policy(policy)
    try:
        student = build_segmenter("tiny_mobile", NUM_CLASSES)
        teacher = build_segmenter("tiny_resnet", NUM_CLASSES)
        student.set_weights(weights[0])
        teacher.set_weights(weights[1])
        distiller = Distiller(student=student, teacher=teacher)
        distiller.compile(optimizer=optimizer)
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    return distiller


@pytest.mark.parametrize("policy", sorted(TOLERANCE))
def test_losses_match_float32(policy, float32_weights):
    data = tiny_dataset()
    expected = distiller_under("float32", float32_weights, "sgd").evaluate(
        data, verbose=0, return_dict=True
    )
    mixed = distiller_under(policy, float32_weights, "sgd")
    assert mixed.student.output["features"].dtype == policy.split("_")[1]
    actual = mixed.evaluate(data, verbose=0, return_dict=True)
    for name in ("loss", "ce", "pfs", "imitation"):
        np.testing.assert_allclose(
            actual[name], expected[name], rtol=TOLERANCE[policy], err_msg=name
        )


def test_float16_gradients_are_unscaled(float32_weights):
    # One SGD step: a gradient left multiplied by the loss scale would move
    # the weights a thousand times further than in float32. The scale starts
    # at 2**10 rather than 2**15, where the first float16 step overflows and
    # is skipped (the optimizer then halves the scale).
    data = tiny_dataset(num=4)
    moves = {}
    for policy in ("float32", "mixed_float16"):
        optimizer = keras.optimizers.SGD(learning_rate=0.01)
        if policy == "mixed_float16":
            optimizer = keras.optimizers.LossScaleOptimizer(
                optimizer, initial_scale=2.0**10
            )
        distiller = distiller_under(policy, float32_weights, optimizer)
        distiller.fit(data, epochs=1, verbose=0)
        assert int(distiller.optimizer.iterations) == 1  # the step was applied
        trainable = {id(v) for v in distiller.student.trainable_weights}
        moves[policy] = np.concatenate(
            [
                (v.numpy() - before).ravel()
                for v, before in zip(
                    distiller.student.weights, float32_weights[0], strict=True
                )
                if id(v) in trainable
            ]
        )
    norms = {policy: np.linalg.norm(move) for policy, move in moves.items()}
    assert 0.9 < norms["mixed_float16"] / norms["float32"] < 1.1
    cosine = moves["mixed_float16"] @ moves["float32"] / np.prod(list(norms.values()))
    assert cosine > 0.95


@pytest.mark.slow
def test_float16_training_lowers_the_loss(float32_weights):
    distiller = distiller_under(
        "mixed_float16", float32_weights, keras.optimizers.Adam(1e-2)
    )
    history = distiller.fit(tiny_dataset(), epochs=8, verbose=0).history
    assert np.all(np.isfinite(history["loss"]))
    assert history["loss"][-1] < 0.7 * history["loss"][0]
