"""Mean and per-class IoU for segmentation logits, with a void class."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_pfs")
class SegmentationIoU(keras.metrics.MeanIoU):
    """`keras.metrics.MeanIoU` on logits, with per-class IoU.

    Takes integer labels `(B, H, W)` and logits `(B, H, W, K)`; void pixels
    (`ignore_class`) are left out of the confusion matrix. The mean is taken
    over classes that occur in the labels or predictions, as Keras does.

    Args:
        num_classes: number of classes K.
        ignore_class: the void label id.
        name: metric name.

    Example:

    >>> metric = SegmentationIoU(num_classes=3, ignore_class=255)
    >>> metric.update_state(labels, logits)  # doctest: +SKIP
    >>> metric.per_class_iou()  # doctest: +SKIP
    """

    def __init__(self, num_classes, ignore_class=255, name="mean_iou", dtype=None):
        super().__init__(
            num_classes=num_classes,
            ignore_class=ignore_class,
            sparse_y_pred=False,
            name=name,
            dtype=dtype,
        )

    def per_class_iou(self):
        """`(K,)` float32 IoU per class; NaN for a class seen nowhere."""
        cm = ops.cast(self.total_cm, "float32")
        true_positives = ops.diagonal(cm)
        union = ops.sum(cm, axis=0) + ops.sum(cm, axis=1) - true_positives
        return ops.where(
            union > 0, true_positives / ops.maximum(union, 1.0), float("nan")
        )

    def get_config(self):
        return {
            "num_classes": self.num_classes,
            "ignore_class": self.ignore_class,
            "name": self.name,
            "dtype": self.dtype,
        }
