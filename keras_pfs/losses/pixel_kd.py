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
    """`pixel_kd_loss` between the teacher's and the student's logits over
    the valid pixels.

    Args:
        temperature: softening temperature T. Defaults to 1.0, the plain
            softmax of SKD's pixel-wise term.

    Example:

    >>> outputs = {"logits": keras.random.normal((2, 8, 8, 5))}
    >>> labels, mask = keras.ops.zeros((2, 8, 8), "int32"), keras.ops.ones((2, 8, 8))
    >>> loss = PixelKDLoss(temperature=2.0)
    >>> loss.compute_loss(outputs, outputs, labels, mask).shape
    (2,)
    """

    def __init__(self, temperature=1.0):
        super().__init__(temperature)

    def compute_loss(self, teacher_outputs, student_outputs, labels, mask):
        return pixel_kd_loss(
            teacher_outputs["logits"],
            student_outputs["logits"],
            mask,
            temperature=self.temperature,
        )
