"""The contract every distillation loss implements."""


class DistillationLoss:
    """A loss between teacher and student outputs, one value per image.

    Every distillation loss has one call path, `compute_loss`, which takes
    the same four inputs whatever the loss uses: both models' outputs, the
    labels and the mask of pixels to distil. The `Distiller` passes all four to every
    loss and reduces the per-image values over the global batch itself, so
    it needs to know nothing about a loss but its name in `loss_weights`.
    The mask says where to distil (every pixel with the Distiller's default
    `distill_pixels="all"`, labelled pixels with `"labeled"`): a loss leaves
    pixels of mask 0 out of its value and gradient, and reads labels, where
    it needs them, from `labels`, whose void pixels hold the ignore class.

    A subclass implements `compute_loss`, takes its options as explicit
    constructor arguments kept as attributes, returns them from `get_config`,
    and is registered with `keras.saving.register_keras_serializable`, so a
    loss round-trips through `keras.saving.serialize_keras_object` and the
    `.keras` file of a `Distiller`.

    Example:

    >>> @keras.saving.register_keras_serializable(package="demo")
    ... class FeatureMSE(DistillationLoss):
    ...     def compute_loss(self, teacher_outputs, student_outputs, labels, mask):
    ...         diff = teacher_outputs["features"] - student_outputs["features"]
    ...         return keras.ops.mean(keras.ops.square(diff), axis=(1, 2, 3))
    """

    def compute_loss(self, teacher_outputs, student_outputs, labels, mask):
        """Per-image loss.

        Args:
            teacher_outputs: dict with `"logits"` `(B, H, W, K)` at the
                labels' resolution and `"features"` `(B, h, w, C)`.
            student_outputs: the student's dict, same keys; its features may
                differ from the teacher's in grid and width.
            labels: `(B, H, W)` int32 class ids (void pixels hold the
                ignore class).
            mask: `(B, H, W)` float tensor, 1 where the loss applies, 0
                where it does not (see the class docstring).

        Returns:
            `(B,)` tensor.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement compute_loss.")

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class LogitDistillationLoss(DistillationLoss):
    """Base of losses between temperature-softened logits.

    Args:
        temperature: softening temperature T > 0.
    """

    def __init__(self, temperature):
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}.")
        self.temperature = temperature

    def get_config(self):
        return {"temperature": self.temperature}
