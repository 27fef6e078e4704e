"""Checks shared by the loss tests: gradients against a float64 reference,
and config / serialization / `.keras` round trips."""

import keras
import numpy as np
import tensorflow as tf

from tests.references import numerical_gradient


def assert_gradients_match_reference(loss_fn, reference_fn, teacher, student, rng):
    """Compares the gradients of `loss_fn` with central differences of
    `reference_fn`, with respect to both the teacher and the student input.

    The objective is a random positive combination of the per-image values,
    so each image's value is checked, not only their sum.

    Args:
        loss_fn: `(teacher, student) -> (B,)` tensor, the loss under test.
        reference_fn: `(teacher, student) -> (B,)` float64 NumPy reference.
        teacher: float64 array, batch first.
        student: float64 array, batch first.
        rng: NumPy generator for the per-image combination weights.

    Returns:
        The gradients `(teacher, student)` of the loss under test, as arrays.
    """
    weights = rng.uniform(0.5, 1.5, size=teacher.shape[0])
    t_var, s_var = tf.Variable(teacher), tf.Variable(student)
    with tf.GradientTape() as tape:
        objective = tf.reduce_sum(weights * loss_fn(t_var, s_var))
    grads = [g.numpy() for g in tape.gradient(objective, [t_var, s_var])]

    def objective_np(t, s):
        return (weights * reference_fn(t, s)).sum()

    wants = (
        numerical_gradient(lambda t: objective_np(t, student), teacher),
        numerical_gradient(lambda s: objective_np(teacher, s), student),
    )
    for got, want in zip(grads, wants, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())
    return grads


def assert_loss_round_trips(loss, tmp_path, input_shape=(2, 2, 3)):
    """`get_config` / `from_config`, Keras (de)serialization, and a `.keras`
    file of a model compiled with the loss all give back an equal loss."""
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
