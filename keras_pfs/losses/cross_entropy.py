"""Pixel-wise cross-entropy on the labels, ignoring void pixels."""

import keras
from keras import ops

from keras_pfs.losses.utils import masked_image_mean


def valid_mask(labels, ignore_class):
    """`(B, H, W)` float32 mask: 1 where the label is a class, 0 where void."""
    return ops.cast(ops.not_equal(labels, ignore_class), "float32")


def segmentation_cross_entropy(labels, logits, ignore_class=255):
    """Softmax cross-entropy averaged over each image's labelled pixels.

    Args:
        labels: `(B, H, W)` int class ids; `ignore_class` marks void pixels.
        logits: `(B, H, W, K)` at the labels' resolution.
        ignore_class: the void id, excluded from the loss.

    Returns:
        `(B,)` float32; an image without labelled pixels contributes 0.

    Example:

    >>> labels = keras.ops.zeros((2, 4, 4), "int32")
    >>> segmentation_cross_entropy(labels, keras.ops.zeros((2, 4, 4, 3))).shape
    (2,)
    """
    mask = valid_mask(labels, ignore_class)
    # Void ids may lie outside [0, K); any valid id will do, the mask drops it.
    safe_labels = ops.where(mask > 0, labels, ops.zeros_like(labels))
    pixel_ce = ops.sparse_categorical_crossentropy(
        safe_labels, ops.cast(logits, "float32"), from_logits=True
    )
    return masked_image_mean(pixel_ce, mask)


@keras.saving.register_keras_serializable(package="keras_pfs")
class SegmentationCrossEntropy(keras.losses.Loss):
    """Keras loss form of `segmentation_cross_entropy`.

    Args:
        ignore_class: the void label id.
        reduction: Keras loss reduction; `None` returns per-image values.
        name: loss name.

    Example:

    >>> model.compile(loss=SegmentationCrossEntropy(ignore_class=11))  # doctest: +SKIP
    """

    def __init__(
        self,
        ignore_class=255,
        reduction="sum_over_batch_size",
        name="segmentation_cross_entropy",
        dtype=None,
    ):
        super().__init__(reduction=reduction, name=name, dtype=dtype)
        self.ignore_class = ignore_class

    def call(self, y_true, y_pred):
        return segmentation_cross_entropy(
            ops.cast(y_true, "int32"), y_pred, self.ignore_class
        )

    def get_config(self):
        return {**super().get_config(), "ignore_class": self.ignore_class}
