"""Mean and per-class IoU of a segmenter over a dataset."""

import numpy as np
import tensorflow as tf

from keras_pfs.metrics.segmentation_iou import SegmentationIoU


def evaluate_segmenter(model, dataset, num_classes, ignore_class=255):
    """Runs `model` in inference mode over `dataset` and scores it.

    Args:
        model: returns logits `(B, H, W, K)` or a dict with `"logits"`.
        dataset: yields `(images, labels)`; any image size.
        num_classes: number of classes K.
        ignore_class: void label id, not scored.

    Returns:
        `{"miou": float, "per_class_iou": [K floats, NaN where a class never
        occurs], "num_images": int}`.

    Example:

    >>> evaluate_segmenter(student, val_ds, 11, ignore_class=11)  # doctest: +SKIP
    """
    metric = SegmentationIoU(num_classes, ignore_class=ignore_class)

    @tf.function(reduce_retracing=True)
    def logits_of(images):
        outputs = model(images, training=False)
        return outputs["logits"] if isinstance(outputs, dict) else outputs

    num_images = 0
    for images, labels in dataset:
        if not labels.dtype.is_integer:  # the metric would truncate them
            raise ValueError(
                f"evaluate_segmenter: labels must be integer class ids, got "
                f"dtype {labels.dtype.name} (shape {tuple(labels.shape)})."
            )
        metric.update_state(labels, logits_of(images))
        num_images += int(images.shape[0])
    return {
        "miou": float(metric.result()),
        "per_class_iou": [float(v) for v in np.asarray(metric.per_class_iou())],
        "num_images": num_images,
    }
