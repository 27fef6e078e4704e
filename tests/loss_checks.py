"""Inputs and checks shared by the loss tests: the standard distillation
inputs, gradients against a float64 reference, and Keras loss round trips."""

import keras
import numpy as np
import tensorflow as tf

from tests.references import numerical_gradient

VOID = 255


def distillation_inputs(rng, batch=3, num_classes=3, label_size=(6, 6)):
    """Float64 `(teacher_outputs, student_outputs, labels, mask)` as the
    `Distiller` passes them: logits at the labels' size, the student's
    features on a coarser grid and narrower than the teacher's, void pixels
    (mask 0), and a last image without labels whose every pixel is distilled
    (mask 1, as with the Distiller's `distill_pixels="all"`)."""
    labels = rng.integers(0, num_classes, size=(batch, *label_size))
    labels[rng.uniform(size=labels.shape) < 0.2] = VOID
    labels[-1] = VOID
    mask = (labels != VOID).astype(np.float64)
    mask[-1] = 1.0

    def outputs(grid, channels):
        return {
            "logits": rng.normal(size=(batch, *label_size, num_classes)) * 2,
            "features": rng.normal(size=(batch, *grid, channels)),
        }

    return outputs((4, 4), 5), outputs((3, 3), 3), labels.astype(np.int32), mask


def assert_gradients_match_reference(loss_fn, reference_fn, first, second, rng):
    """Compares the gradients of `loss_fn` with respect to both of its inputs
    with central differences of `reference_fn`.

    The objective is a random positive combination of the per-image values,
    so each image's value is checked, not only their sum.

    Args:
        loss_fn: `(first, second) -> (B,)` tensor, the loss under test.
        reference_fn: `(first, second) -> (B,)` float64 NumPy reference.
        first: float64 array, batch first (e.g. the teacher's output).
        second: float64 array, batch first (e.g. the student's output).
        rng: NumPy generator for the per-image combination weights.

    Returns:
        The gradients `(first, second)` of the loss under test, as arrays.
    """
    weights = rng.uniform(0.5, 1.5, size=first.shape[0])
    variables = [tf.Variable(first), tf.Variable(second)]
    with tf.GradientTape() as tape:
        objective = tf.reduce_sum(weights * loss_fn(*variables))
    # An input the loss does not use (e.g. features for a logit loss) has
    # zero gradient, which the reference must then show too.
    grads = tape.gradient(
        objective, variables, unconnected_gradients=tf.UnconnectedGradients.ZERO
    )
    grads = [g.numpy() for g in grads]

    def objective_np(a, b):
        return (weights * reference_fn(a, b)).sum()

    wants = (
        numerical_gradient(lambda a: objective_np(a, second), first.copy()),
        numerical_gradient(lambda b: objective_np(first, b), second.copy()),
    )
    for got, want in zip(grads, wants, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())
    return grads


def assert_loss_round_trips(loss, tmp_path, input_shape=(2, 2, 3)):
    """For a plain Keras loss: `get_config` / `from_config`, Keras
    (de)serialization, and a `.keras` file of a model compiled with the loss
    all give back an equal loss."""
    config = loss.get_config()
    assert type(loss).from_config(config).get_config() == config
    model = keras.Sequential([keras.Input(input_shape), keras.layers.Identity()])
    model.compile(loss=loss)
    model.save(tmp_path / "model.keras")
    for restored in (
        keras.losses.deserialize(keras.losses.serialize(loss)),
        keras.saving.deserialize_keras_object(
            keras.saving.serialize_keras_object(loss)
        ),
        keras.saving.load_model(tmp_path / "model.keras").loss,
    ):
        assert isinstance(restored, type(loss))
        assert restored.get_config() == config
