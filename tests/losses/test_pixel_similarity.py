import numpy as np
import pytest
import tensorflow as tf

from keras_pfs.losses import pixel_similarity_loss
from tests.references import dense_pixel_similarity, numerical_gradient

RNG = np.random.default_rng(0)


def relative_error(actual, expected):
    return np.linalg.norm(actual - expected) / np.linalg.norm(expected)


@pytest.mark.parametrize("method", ["gram", "dense"])
@pytest.mark.parametrize("student_grid", [(6, 7), (3, 4)])
def test_value_matches_float64_dense_reference(method, student_grid):
    teacher = RNG.normal(size=(3, 6, 7, 12))
    student = RNG.normal(size=(3, *student_grid, 5))
    expected = dense_pixel_similarity(teacher, student)
    actual = pixel_similarity_loss(
        teacher.astype("float32"), student.astype("float32"), method=method
    )
    assert actual.shape == (3,)
    assert relative_error(np.asarray(actual), expected) < 1e-5


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("student_grid", [(4, 5), (2, 3)])
def test_gradient_matches_float64_reference(dtype, student_grid):
    teacher = RNG.normal(size=(2, 4, 5, 6))
    student = RNG.normal(size=(2, *student_grid, 3))
    expected_s = numerical_gradient(
        lambda s: dense_pixel_similarity(teacher, s), student.copy()
    )
    expected_t = numerical_gradient(
        lambda t: dense_pixel_similarity(t, student), teacher.copy()
    )
    t_var = tf.Variable(teacher.astype(dtype))
    s_var = tf.Variable(student.astype(dtype))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(pixel_similarity_loss(t_var, s_var))
    grad_t, grad_s = tape.gradient(loss, [t_var, s_var])
    assert relative_error(grad_s.numpy(), expected_s) < 1e-5
    assert relative_error(grad_t.numpy(), expected_t) < 1e-5


def test_gram_equals_dense_when_student_is_close_to_teacher():
    # The Gram form subtracts large terms; check the cancellation stays small.
    teacher = RNG.normal(size=(2, 9, 9, 16))
    student = teacher + 1e-3 * RNG.normal(size=teacher.shape)
    expected = dense_pixel_similarity(teacher, student)
    gram = pixel_similarity_loss(teacher.astype("float32"), student.astype("float32"))
    np.testing.assert_allclose(gram, expected, atol=1e-6)
    assert np.all(np.asarray(pixel_similarity_loss(teacher, teacher)) < 1e-12)


def test_zero_feature_vectors_give_finite_values_and_gradients():
    teacher = RNG.normal(size=(1, 4, 4, 8)).astype("float32")
    student = RNG.normal(size=(1, 4, 4, 3)).astype("float32")
    teacher[0, 1, 2] = 0.0
    student[0, :2] = 0.0
    s_var = tf.Variable(student)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(pixel_similarity_loss(teacher, s_var))
    grad = tape.gradient(loss, s_var)
    assert np.isfinite(loss.numpy())
    assert np.all(np.isfinite(grad.numpy()))
    np.testing.assert_allclose(
        loss.numpy(),
        dense_pixel_similarity(teacher.astype(float), student).sum(),
        rtol=1e-5,
    )


def test_unknown_method_is_rejected():
    with pytest.raises(ValueError, match="method"):
        pixel_similarity_loss(np.zeros((1, 2, 2, 3)), np.zeros((1, 2, 2, 3)), "fast")
