"""The interface every distillation loss family implements."""

import keras


class DistillationLoss(keras.losses.Loss):
    """A Keras loss between teacher and student outputs, one value per image.

    Subclasses implement `call(y_true, y_pred)` (teacher output, student
    output) returning a `(B,)` tensor, so they also work as ordinary Keras
    losses. The `Distiller` calls `compute_loss` instead, with both models'
    output dicts and the valid-pixel mask, and reduces the per-image values
    over the global batch itself.

    Attributes:
        output_key: which model output the loss compares, `"features"` or
            `"logits"`.
        needs_labels: True if `compute_loss` must also be given `labels=`,
            the `(B, H, W)` int labels at logit resolution.
    """

    output_key = "features"
    needs_labels = False

    def compute_loss(self, teacher_outputs, student_outputs, mask=None):
        """Per-image loss from the models' output dicts.

        Args:
            teacher_outputs: dict with `"features"` and `"logits"` (logits at
                label resolution).
            student_outputs: the student's dict, same keys.
            mask: `(B, H, W)` float tensor, 1 on labelled pixels, 0 on void.
                Losses on features ignore it.

        Returns:
            `(B,)` tensor.
        """
        del mask
        return self.call(
            teacher_outputs[self.output_key], student_outputs[self.output_key]
        )
