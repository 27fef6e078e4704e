"""Pseudo-labels: cross-entropy on the teacher's argmax where there is no label.

The baseline every practitioner tries before distillation: label the
unlabelled pixels with the teacher's most likely class and train on them as
on ground truth, optionally only where the teacher is confident. It lets
"distillation beats simply labelling with the teacher" be measured.

References:
    D.-H. Lee, "Pseudo-Label: The Simple and Efficient Semi-Supervised
    Learning Method for Deep Neural Networks", ICML Workshop on Challenges in
    Representation Learning, 2013.
    K. Sohn et al., "FixMatch: Simplifying Semi-Supervised Learning with
    Consistency and Confidence", NeurIPS 2020 (the confidence threshold, and
    the mean over all unlabelled pixels whatever the threshold keeps).
"""

import keras
from keras import ops

from keras_pfs.losses.base import DistillationLoss
from keras_pfs.losses.utils import masked_image_mean


def pseudo_label_loss(teacher_logits, student_logits, labels, mask=None, threshold=0.0):
    """Per-image CE of the student against the teacher's argmax, unlabelled
    pixels only.

    A pixel is unlabelled when its label lies outside `[0, K)` (void) and its
    `mask` is 1. Its pseudo-label is the teacher's argmax; it counts only if
    the teacher's top probability is at least `threshold`. The loss of an
    image is the sum of the kept pixels' CE over the number of its unlabelled
    pixels (FixMatch's normalisation: a high threshold lowers the loss
    rather than re-weighting the few confident pixels); an image without
    unlabelled pixels gets 0. Labelled pixels are the cross-entropy's.

    Args:
        teacher_logits: `(B, H, W, K)`.
        student_logits: `(B, H, W, K)`, same shape.
        labels: `(B, H, W)` integer class ids; ids outside `[0, K)` are void.
        mask: optional `(B, H, W)`, 1 where distillation applies; `None`
            counts every pixel.
        threshold: minimum teacher probability of a kept pseudo-label, in
            `[0, 1]`; 0 keeps every unlabelled pixel.

    Returns:
        `(B,)` in at least float32, the loss of each image.

    Example:

    >>> t = keras.random.normal((2, 8, 8, 5))
    >>> s = keras.random.normal((2, 8, 8, 5))
    >>> void = keras.ops.full((2, 8, 8), 255)
    >>> pseudo_label_loss(t, s, void, threshold=0.5).shape
    (2,)
    """
    dtype = keras.backend.result_type(
        teacher_logits.dtype, student_logits.dtype, "float32"
    )
    # Pseudo-labels are targets: nothing flows back into the teacher.
    teacher_logits = ops.cast(ops.stop_gradient(teacher_logits), dtype)
    num_classes = ops.shape(teacher_logits)[-1]
    labels = ops.cast(labels, "int32")
    unlabeled = ops.cast(ops.logical_or(labels < 0, labels >= num_classes), dtype)
    if mask is not None:
        unlabeled = unlabeled * ops.cast(mask, dtype)
    confident = ops.cast(
        ops.max(ops.softmax(teacher_logits, axis=-1), axis=-1) >= threshold, dtype
    )
    pixel_ce = ops.sparse_categorical_crossentropy(
        ops.argmax(teacher_logits, axis=-1),
        ops.cast(student_logits, dtype),
        from_logits=True,
    )
    return masked_image_mean(pixel_ce * confident, unlabeled)


@keras.saving.register_keras_serializable(package="keras_pfs")
class PseudoLabelLoss(DistillationLoss):
    """`pseudo_label_loss`: the teacher's argmax as the label of unlabelled
    pixels. It needs the Distiller's `distill_pixels="all"` (the default):
    with `"labeled"` no pixel is both unlabelled and distilled, and it is 0.

    Args:
        threshold: minimum teacher probability of a kept pseudo-label in
            `[0, 1]`; 0 (the default) keeps every unlabelled pixel.

    Example:

    >>> outputs = {"logits": keras.random.normal((2, 8, 8, 5))}
    >>> void = keras.ops.full((2, 8, 8), 255)
    >>> PseudoLabelLoss(0.9).compute_loss(
    ...     outputs, outputs, void, keras.ops.ones((2, 8, 8))).shape
    (2,)
    """

    def __init__(self, threshold=0.0):
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {threshold}.")
        self.threshold = threshold

    def compute_loss(self, teacher_outputs, student_outputs, labels, mask):
        return pseudo_label_loss(
            teacher_outputs["logits"],
            student_outputs["logits"],
            labels,
            mask,
            threshold=self.threshold,
        )

    def get_config(self):
        return {"threshold": self.threshold}
