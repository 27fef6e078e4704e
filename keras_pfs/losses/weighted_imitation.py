"""Pixel-level soft imitation weighted by the teacher-student knowledge gap.

Reference:
    Y. Shan, "Distilling Pixel-Wise Feature Similarities for Semantic
    Segmentation", arXiv:1910.14226, 2019. The paper weights a pixel-level
    imitation loss by the "knowledge gap" between teacher and student; its
    exact weight formula is not available to us, so the definitions below are
    our choices (see `WEIGHTINGS` and the README's ablation).
"""

import keras
from keras import ops

from keras_pfs.losses.base import LogitDistillationLoss
from keras_pfs.losses.pixel_kd import pixel_kl, softened_log_probs
from keras_pfs.losses.utils import masked_image_mean

# Keeps weights finite where the student already matches the teacher
# everywhere (all gaps 0): the weights then tend to 1, i.e. plain KD.
_GAP_EPSILON = 1e-8


def _gap_uniform(log_p_teacher, log_p_student):
    return ops.ones_like(log_p_teacher[..., 0])


def _gap_total_variation(log_p_teacher, log_p_student):
    return 0.5 * ops.sum(
        ops.abs(ops.exp(log_p_teacher) - ops.exp(log_p_student)), axis=-1
    )


# The knowledge-gap definitions; each maps the softened log-probabilities of
# teacher and student (B, H, W, K) to a non-negative gap per pixel (B, H, W).
#   uniform: no gap weighting, the loss is plain pixel KD.
#   kl: the gap is the very divergence being minimised, KL(p_t || p_s), so the
#       weight grows where imitation is worst. Unbounded: a few pixels can
#       dominate an image.
#   tv: total-variation distance 0.5 * sum_k |p_t - p_s| in [0, 1]: the same
#       ordering idea, but bounded and symmetric, so single outliers cannot
#       dominate.
WEIGHTINGS = {
    "uniform": _gap_uniform,
    "kl": pixel_kl,
    "tv": _gap_total_variation,
}
DEFAULT_WEIGHTING = "kl"


def knowledge_gap_weights(
    teacher_logits,
    student_logits,
    mask=None,
    weighting=DEFAULT_WEIGHTING,
    temperature=1.0,
):
    """Per-pixel knowledge-gap weights, normalised to mean 1 per image.

    The weights are computed from both models' predictions and carry no
    gradient: they say where to imitate, they are not themselves a target.
    Each image's weights are scaled so that their mean over its valid pixels
    is 1, so the loss scale does not depend on the weighting and `uniform`
    weights are exactly 1.

    Args:
        teacher_logits: `(B, H, W, K)`.
        student_logits: `(B, H, W, K)`.
        mask: optional `(B, H, W)`, 1 on labelled pixels, 0 on void.
        weighting: a key of `WEIGHTINGS`.
        temperature: softening temperature of both predictions.

    Returns:
        `(B, H, W)` float32 weights, 0 on void pixels.

    Example:

    >>> w = knowledge_gap_weights(keras.random.normal((1, 4, 4, 3)),
    ...                           keras.random.normal((1, 4, 4, 3)))
    >>> w.shape
    (1, 4, 4)
    """
    return _weights_from_log_probs(
        softened_log_probs(teacher_logits, temperature),
        softened_log_probs(student_logits, temperature),
        mask,
        weighting,
    )


def _weights_from_log_probs(log_p_teacher, log_p_student, mask, weighting):
    """`knowledge_gap_weights` from softened log-probabilities, which the
    imitation loss has already computed."""
    if weighting not in WEIGHTINGS:
        raise ValueError(
            f"Unknown knowledge-gap weighting {weighting!r}; "
            f"known: {', '.join(sorted(WEIGHTINGS))}."
        )
    gap = WEIGHTINGS[weighting](
        ops.stop_gradient(log_p_teacher), ops.stop_gradient(log_p_student)
    )
    if mask is None:
        mask = ops.ones_like(gap)
    mask = ops.cast(mask, gap.dtype)
    mean_gap = masked_image_mean(gap, mask)
    weights = (gap + _GAP_EPSILON) / (mean_gap[:, None, None] + _GAP_EPSILON)
    return ops.stop_gradient(weights * mask)


def weighted_imitation_loss(
    teacher_logits,
    student_logits,
    mask=None,
    temperature=1.0,
    weighting=DEFAULT_WEIGHTING,
):
    """Knowledge-gap-weighted pixel KL(teacher || student), per image.

    Per pixel, KL between the temperature-softened teacher and student class
    distributions, times T^2 (so gradient scale does not shrink with T, as in
    Hinton et al.), multiplied by `knowledge_gap_weights` and averaged over the
    image's valid pixels. With `weighting="uniform"` this is plain pixel-wise
    KD. An image without valid pixels contributes 0.

    Args:
        teacher_logits: `(B, H, W, K)`.
        student_logits: `(B, H, W, K)`, same shape.
        mask: optional `(B, H, W)`, 1 on labelled pixels, 0 on void.
        temperature: softening temperature T > 0.
        weighting: a key of `WEIGHTINGS`.

    Returns:
        `(B,)` float32 tensor.

    Example:

    >>> t = keras.random.normal((2, 8, 8, 5))
    >>> weighted_imitation_loss(t, t).shape
    (2,)
    """
    log_p_t = ops.stop_gradient(softened_log_probs(teacher_logits, temperature))
    log_p_s = softened_log_probs(student_logits, temperature)
    kl = pixel_kl(log_p_t, log_p_s) * (temperature**2)
    if mask is None:
        mask = ops.ones_like(kl)
    mask = ops.cast(mask, kl.dtype)
    weights = _weights_from_log_probs(log_p_t, log_p_s, mask, weighting)
    return masked_image_mean(kl * weights, mask)


@keras.saving.register_keras_serializable(package="keras_pfs")
class WeightedImitationLoss(LogitDistillationLoss):
    """`weighted_imitation_loss` between the teacher's and the student's
    logits over the valid pixels.

    Args:
        temperature: softening temperature T.
        weighting: knowledge-gap definition, a key of `WEIGHTINGS`.

    Example:

    >>> outputs = {"logits": keras.ops.zeros((1, 2, 2, 3))}
    >>> labels, mask = keras.ops.zeros((1, 2, 2), "int32"), keras.ops.ones((1, 2, 2))
    >>> loss = WeightedImitationLoss(temperature=2.0, weighting="tv")
    >>> float(loss.compute_loss(outputs, outputs, labels, mask)[0])
    0.0
    """

    def __init__(self, temperature=1.0, weighting=DEFAULT_WEIGHTING):
        super().__init__(temperature)
        if weighting not in WEIGHTINGS:
            raise ValueError(
                f"Unknown knowledge-gap weighting {weighting!r}; "
                f"known: {', '.join(sorted(WEIGHTINGS))}."
            )
        self.weighting = weighting

    def compute_loss(self, teacher_outputs, student_outputs, labels, mask):
        return weighted_imitation_loss(
            teacher_outputs["logits"],
            student_outputs["logits"],
            mask,
            temperature=self.temperature,
            weighting=self.weighting,
        )

    def get_config(self):
        return {**super().get_config(), "weighting": self.weighting}
