"""Channel-wise distillation (CWD) of spatial distributions of the logits.

Reference:
    C. Shu, Y. Liu, J. Gao, Z. Yan, C. Shen, "Channel-wise Knowledge
    Distillation for Dense Prediction", ICCV 2021.
"""

import keras
from keras import ops

from keras_pfs.losses.base import LogitDistillationLoss


def _spatial_log_softmax(x, mask):
    """Log-softmax of (B, N, K) over the N locations where `mask` (B, N, 1) is 1.

    Void locations are left out of the normalisation, so the valid ones form
    a distribution on their own; their own log-probabilities are finite
    placeholders that the caller masks out. The shift is the maximum over
    valid locations, so the normaliser is at least 1 whenever any location is
    valid and stays finite (the log of 1) when none is.
    """
    valid = mask > 0
    x = ops.where(valid, x, ops.stop_gradient(ops.min(x, axis=1, keepdims=True)))
    shift = ops.stop_gradient(ops.max(x, axis=1, keepdims=True))
    normaliser = ops.sum(ops.exp(x - shift) * mask, axis=1, keepdims=True)
    return x - shift - ops.log(ops.maximum(normaliser, 1.0))


def channel_wise_loss(teacher_logits, student_logits, mask=None, temperature=4.0):
    """CWD: KL(teacher || student) of each channel's spatial distribution.

    Each of the K channels of a logit map is turned into a distribution over
    the image's locations by a softmax over space at temperature T; the loss
    of an image is T^2 times the KL divergence of teacher from student, summed
    over locations and averaged over channels (the paper's normalisation
    T^2 / C, per image).

    CWD itself uses no labels. Here void pixels are removed from the map: both
    softmaxes run over the valid locations only, so void areas such as crop
    padding, whose logits carry no knowledge, neither take probability mass
    nor receive gradient. With every pixel valid (or `mask=None`) this is the
    published loss. Since each channel is already a normalised distribution,
    there is no further division by the number of valid pixels; an image
    without valid pixels gets 0.

    Logits are computed in at least float32: a softmax over a whole map
    spreads its mass over many locations, below what float16 resolves.

    Args:
        teacher_logits: `(B, H, W, K)` tensor.
        student_logits: `(B, H, W, K)` tensor, same shape.
        mask: optional `(B, H, W)`, 1 on labelled pixels, 0 on void. `None`
            counts every pixel.
        temperature: softening temperature T > 0.

    Returns:
        `(B,)` tensor, the loss of each image.

    Example:

    >>> t = keras.random.normal((2, 16, 16, 19))
    >>> s = keras.random.normal((2, 16, 16, 19))
    >>> channel_wise_loss(t, s).shape
    (2,)
    """
    dtype = keras.backend.result_type(
        teacher_logits.dtype, student_logits.dtype, "float32"
    )
    shape = ops.shape(teacher_logits)
    flat_shape = (shape[0], -1, shape[-1])
    x_t = ops.reshape(ops.cast(teacher_logits, dtype), flat_shape) / temperature
    x_s = ops.reshape(ops.cast(student_logits, dtype), flat_shape) / temperature
    if mask is None:
        mask = ops.ones(ops.shape(x_t)[:2], dtype)
    mask = ops.cast(ops.reshape(mask, (shape[0], -1, 1)) > 0, dtype)
    log_p_t = _spatial_log_softmax(x_t, mask)
    log_p_s = _spatial_log_softmax(x_s, mask)
    kl = ops.sum(mask * ops.exp(log_p_t) * (log_p_t - log_p_s), axis=1)
    return ops.mean(kl, axis=-1) * temperature**2


@keras.saving.register_keras_serializable(package="keras_pfs")
class ChannelWiseLoss(LogitDistillationLoss):
    """`channel_wise_loss` between the teacher's and the student's logits,
    with void pixels removed from the spatial distributions.

    Args:
        temperature: softening temperature T. Defaults to 4.0, the paper's
            value for semantic segmentation (the OpenMMLab reproduction on
            logits uses 1.0 with a loss weight of 5).

    Example:

    >>> outputs = {"logits": keras.random.normal((2, 8, 8, 5))}
    >>> labels, mask = keras.ops.zeros((2, 8, 8), "int32"), keras.ops.ones((2, 8, 8))
    >>> loss = ChannelWiseLoss(temperature=4.0)
    >>> loss.compute_loss(outputs, outputs, labels, mask).shape
    (2,)
    """

    def __init__(self, temperature=4.0):
        super().__init__(temperature)

    def compute_loss(self, teacher_outputs, student_outputs, labels, mask):
        return channel_wise_loss(
            teacher_outputs["logits"],
            student_outputs["logits"],
            mask,
            temperature=self.temperature,
        )
