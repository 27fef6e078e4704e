"""Float64 NumPy references of the loss definitions, used by the tests."""

import numpy as np

NORM_EPSILON = 1e-12


def softmax(z, temperature=1.0):
    z = z / temperature
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


def unit_pixels(features):
    b, h, w, c = features.shape
    flat = features.reshape(b, h * w, c)
    norm_sq = (flat**2).sum(-1, keepdims=True)
    return flat / np.sqrt(np.maximum(norm_sq, NORM_EPSILON))


def bilinear_matrix(out_size, in_size):
    """Rows: output positions; half-pixel centres, as tf.image.resize."""
    m = np.zeros((out_size, in_size))
    for i in range(out_size):
        src = (i + 0.5) * in_size / out_size - 0.5
        src = min(max(src, 0.0), in_size - 1)
        lo = int(np.floor(src))
        hi = min(lo + 1, in_size - 1)
        frac = src - lo
        m[i, lo] += 1 - frac
        m[i, hi] += frac
    return m


def resize_bilinear(x, size):
    rows = bilinear_matrix(size[0], x.shape[1])
    cols = bilinear_matrix(size[1], x.shape[2])
    return np.einsum("ih,bhwc,jw->bijc", rows, x, cols)


def dense_pixel_similarity(teacher, student):
    """The PFS definition, dense: mean_ij (S_t - S_s)^2 per image."""
    if student.shape[1:3] != teacher.shape[1:3]:
        student = resize_bilinear(student, teacher.shape[1:3])
    a, b = unit_pixels(teacher), unit_pixels(student)
    s_t = a @ a.transpose(0, 2, 1)
    s_s = b @ b.transpose(0, 2, 1)
    return ((s_t - s_s) ** 2).mean(axis=(1, 2))


def pixel_kl(teacher_logits, student_logits, temperature):
    p_t = softmax(teacher_logits, temperature)
    p_s = softmax(student_logits, temperature)
    return (p_t * (np.log(p_t) - np.log(p_s))).sum(-1)


def masked_mean(values, mask):
    return (values * mask).sum((1, 2)) / np.maximum(mask.sum((1, 2)), 1)


def numerical_gradient(fn, x, step=1e-6):
    """Central differences of sum(fn(x)) with respect to x."""
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        orig = flat[i]
        flat[i] = orig + step
        up = fn(x).sum()
        flat[i] = orig - step
        down = fn(x).sum()
        flat[i] = orig
        gflat[i] = (up - down) / (2 * step)
    return grad
