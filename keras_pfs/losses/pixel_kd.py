"""Pixel-wise knowledge distillation on the class distributions.

References:
    G. Hinton, O. Vinyals, J. Dean, "Distilling the Knowledge in a Neural
    Network", NIPS Deep Learning Workshop, 2015.
    Y. Liu, K. Chen, C. Liu, Z. Qin, Z. Luo, J. Wang, "Structured Knowledge
    Distillation for Semantic Segmentation", CVPR 2019 (the pixel-wise term).
"""

import keras
from keras import ops

from keras_pfs.losses.base import LogitDistillationLoss
from keras_pfs.losses.utils import masked_image_mean


def softened_log_probs(logits, temperature, dtype="float32"):
    """log softmax(logits / T) over classes, in at least `dtype`."""
    return ops.log_softmax(ops.cast(logits, dtype) / temperature, axis=-1)


def pixel_kl(log_p_teacher, log_p_student):
    """Per-pixel KL(p_t || p_s) from log-probabilities `(..., K)` -> `(...)`."""
    return ops.sum(ops.exp(log_p_teacher) * (log_p_teacher - log_p_student), axis=-1)


def pixel_kd_loss(teacher_logits, student_logits, mask=None, temperature=1.0):
    """Per-pixel KL(teacher || student) of the softened class distributions.

    For every pixel, KL(softmax(z_t / T) || softmax(z_s / T)) * T^2 over the
    K classes, averaged over the image's valid pixels. The T^2 factor keeps the
    gradient scale independent of T (Hinton et al.). SKD's official pixel-wise
    term is the cross-entropy of the two distributions instead; the two differ
    by the teacher's entropy, a constant for the student, so they have the same
    gradients, but KL is 0 when the student matches the teacher.

    Logits are computed in at least float32, as a softmax in float16 loses the
    small probabilities KD is meant to transfer.

    Args:
        teacher_logits: `(B, H, W, K)` tensor.
        student_logits: `(B, H, W, K)` tensor, same shape.
        mask: optional `(B, H, W)`, 1 on labelled pixels, 0 on void; void
            pixels contribute nothing and an image without valid pixels gets 0.
            `None` counts every pixel.
        temperature: softening temperature T > 0.

    Returns:
        `(B,)` tensor, the loss of each image.

    Example:

    >>> t = keras.random.normal((2, 8, 8, 5))
    >>> s = keras.random.normal((2, 8, 8, 5))
    >>> pixel_kd_loss(t, s, temperature=2.0).shape
    (2,)
    """
    dtype = keras.backend.result_type(
        teacher_logits.dtype, student_logits.dtype, "float32"
    )
    kl = pixel_kl(
        softened_log_probs(teacher_logits, temperature, dtype),
        softened_log_probs(student_logits, temperature, dtype),
    ) * (temperature**2)
    if mask is None:
        mask = ops.ones_like(kl)
    return masked_image_mean(kl, mask)


@keras.saving.register_keras_serializable(package="keras_pfs")
class PixelKDLoss(LogitDistillationLoss):
    """Keras loss form of `pixel_kd_loss`.

    `y_true` is the teacher's logits and `y_pred` the student's; as a plain
    Keras loss every pixel counts, while the `Distiller` (through
    `compute_loss`) drops void pixels.

    Args:
        temperature: softening temperature T. Defaults to 1.0, the plain
            softmax of SKD's pixel-wise term.
        reduction: Keras loss reduction; `None` returns per-image values.
        name: loss name.

    Example:

    >>> loss = PixelKDLoss(temperature=2.0, reduction=None)
    >>> loss(keras.random.normal((2, 4, 4, 3)), keras.random.normal((2, 4, 4, 3))).shape
    (2,)
    """

    loss_fn = pixel_kd_loss

    def __init__(
        self,
        temperature=1.0,
        reduction="sum_over_batch_size",
        name="pixel_kd",
        dtype=None,
    ):
        super().__init__(temperature, reduction=reduction, name=name, dtype=dtype)
