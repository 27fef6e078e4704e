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


class LogitDistillationLoss(DistillationLoss):
    """Base of losses between temperature-softened logits, per image.

    Subclasses set `loss_fn`, a function
    `(teacher_logits, student_logits, mask, temperature=..., **options)`
    returning `(B,)`; `options()` returns their extra constructor arguments.
    As a plain Keras loss every pixel counts; through `compute_loss` (the
    `Distiller`) void pixels are masked out.

    Args:
        temperature: softening temperature T > 0.
        reduction: Keras loss reduction; `None` returns per-image values.
        name: loss name.
    """

    output_key = "logits"
    loss_fn = None

    def __init__(
        self, temperature, reduction="sum_over_batch_size", name=None, dtype=None
    ):
        super().__init__(reduction=reduction, name=name, dtype=dtype)
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}.")
        self.temperature = temperature

    def options(self):
        return {}

    def _per_image(self, teacher_logits, student_logits, mask):
        # loss_fn is a plain function stored on the class: call it unbound.
        return type(self).loss_fn(
            teacher_logits,
            student_logits,
            mask,
            temperature=self.temperature,
            **self.options(),
        )

    def call(self, y_true, y_pred):
        return self._per_image(y_true, y_pred, None)

    def compute_loss(self, teacher_outputs, student_outputs, mask=None):
        return self._per_image(
            teacher_outputs["logits"], student_outputs["logits"], mask
        )

    def get_config(self):
        return {
            **super().get_config(),
            "temperature": self.temperature,
            **self.options(),
        }
