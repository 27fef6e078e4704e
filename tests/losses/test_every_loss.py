"""The checks every registered distillation loss passes, through the one
contract `compute_loss(teacher_outputs, student_outputs, labels, mask)`.

A new loss gets all of them from its registry entry and its row in
`tests.references.LOSS_REFERENCES`; its method-specific tests live beside
this file.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_pfs import Distiller, losses
from tests.loss_checks import assert_gradients_match_reference, distillation_inputs
from tests.references import LOSS_REFERENCES
from tests.run_script import run_json_script

NAMES = losses.names()


def loss_and_reference(name):
    kwargs, reference = LOSS_REFERENCES[name][:2]
    return losses.get(name, **kwargs), lambda *inputs: reference(*inputs, **kwargs)


def gradient_reference(name, student):
    """The reference whose finite differences at `student` are the loss's
    gradient (see `LOSS_REFERENCES`)."""
    kwargs, value, *frozen = LOSS_REFERENCES[name]
    if not frozen:
        return lambda *inputs: value(*inputs, **kwargs)
    return lambda t, s, labels, mask: frozen[0](t, s, labels, mask, student, **kwargs)


def as_float32(inputs):
    return tf.nest.map_structure(
        lambda x: x.astype("float32") if x.dtype == np.float64 else x, inputs
    )


def test_every_registered_loss_has_a_reference():
    assert sorted(LOSS_REFERENCES) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_values_match_the_float64_reference(name):
    loss, reference = loss_and_reference(name)
    inputs = distillation_inputs(np.random.default_rng(0))
    got = keras.ops.convert_to_numpy(loss.compute_loss(*as_float32(inputs)))
    want = reference(*inputs)
    assert got.shape == want.shape == (3,)
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-7)


@pytest.mark.parametrize("name", NAMES)
def test_student_gradients_match_finite_differences(name):
    loss, _ = loss_and_reference(name)
    rng = np.random.default_rng(1)
    teacher, student, labels, mask = distillation_inputs(rng)
    reference = gradient_reference(name, student)

    def student_outputs(logits, features):
        return {"logits": logits, "features": features}

    grads = assert_gradients_match_reference(
        lambda lg, ft: loss.compute_loss(
            teacher, student_outputs(lg, ft), labels, mask
        ),
        lambda lg, ft: reference(teacher, student_outputs(lg, ft), labels, mask),
        student["logits"],
        student["features"],
        rng,
    )
    # The loss teaches the student something: some gradient is not zero.
    assert max(np.abs(g).max() for g in grads) > 1e-3


@pytest.mark.parametrize("name", NAMES)
def test_void_pixels_contribute_nothing(name):
    # Huge student logits on void pixels would dominate any softmax they
    # entered; the values must stay the reference's and no gradient may
    # reach them.
    loss, reference = loss_and_reference(name)
    rng = np.random.default_rng(3)
    teacher, student, labels, mask = distillation_inputs(rng)
    void = (mask == 0)[..., None]
    noisy = np.where(void, rng.normal(size=student["logits"].shape) * 1e4, 0.0)
    logits = tf.Variable(student["logits"] + noisy)
    with tf.GradientTape() as tape:
        values = loss.compute_loss(teacher, {**student, "logits": logits}, labels, mask)
    grad = tape.gradient(
        values, logits, unconnected_gradients=tf.UnconnectedGradients.ZERO
    ).numpy()
    np.testing.assert_allclose(
        values.numpy(), reference(teacher, student, labels, mask), rtol=1e-6
    )
    assert np.all(grad[np.broadcast_to(void, grad.shape)] == 0)


@pytest.mark.parametrize("name", NAMES)
def test_sizes_unknown_until_run_time_give_the_same_values(name):
    loss, _ = loss_and_reference(name)
    inputs = as_float32(distillation_inputs(np.random.default_rng(2)))
    traced = tf.function(
        loss.compute_loss,
        input_signature=tf.nest.map_structure(
            lambda x: tf.TensorSpec((None, None, None, *x.shape[3:]), x.dtype),
            inputs,
        ),
    )
    np.testing.assert_allclose(
        traced(*inputs).numpy(),
        keras.ops.convert_to_numpy(loss.compute_loss(*inputs)),
        # Only the summation order may differ (SKD picks its exact form by
        # whether the node count is known).
        rtol=1e-5,
    )


def tiny_segmenter(num_classes, channels, name):
    images = keras.Input((None, None, 3))
    features = keras.layers.Conv2D(channels, 1, strides=2)(images)
    logits = keras.layers.UpSampling2D(2)(keras.layers.Conv2D(num_classes, 1)(features))
    return keras.Model(images, {"logits": logits, "features": features}, name=name)


@pytest.mark.parametrize("name", NAMES)
def test_config_and_serialization_round_trips(name):
    loss, _ = loss_and_reference(name)
    config = loss.get_config()
    assert config.items() >= LOSS_REFERENCES[name][0].items()
    assert type(loss).from_config(config).get_config() == config
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(loss)
    )
    assert type(restored) is type(loss) and restored.get_config() == config


def test_every_loss_round_trips_through_a_distiller_keras_file(tmp_path):
    # One Distiller carrying every loss: one save and load for all of them.
    distillation_losses = {name: loss_and_reference(name)[0] for name in NAMES}
    distiller = Distiller(
        student=tiny_segmenter(3, 3, "student"),
        teacher=tiny_segmenter(3, 5, "teacher"),
        distillation_losses=distillation_losses,
    )
    distiller(np.zeros((1, 4, 4, 3), "float32"))
    distiller.save(tmp_path / "distiller.keras")
    reloaded = keras.saving.load_model(tmp_path / "distiller.keras")
    assert sorted(reloaded.distillation_losses) == NAMES
    for name, loss in distillation_losses.items():
        restored = reloaded.distillation_losses[name]
        assert type(restored) is type(loss)
        assert restored.get_config() == loss.get_config()


def test_two_replicas_give_the_single_device_gradients():
    report = run_json_script("loss_replicas.py")
    assert sorted(report) == NAMES
    for name, (difference, scale) in report.items():
        assert scale > 1e-3, name  # the loss really has gradients to compare
        assert difference <= 1e-9 * scale, name
