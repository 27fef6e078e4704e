"""The values a Distiller logs: each loss term's mean and the mIoU."""

import keras


def loss_trackers(names):
    """`{name: keras.metrics.Mean}` for `"loss"`, `"ce"` and each of `names`
    (the distillation terms)."""
    return {name: keras.metrics.Mean(name=name) for name in ["loss", "ce", *names]}


def update_metrics(trackers, iou, terms, labels, logits, labeled):
    """Adds one batch to the metrics and returns the logs.

    Args:
        trackers: from `loss_trackers`.
        iou: the `SegmentationIoU` metric.
        terms: per-image loss terms `{name: (B,)}`, one per tracker.
        labels: int32 `(B, H, W)` class ids.
        logits: the student's `(B, H, W, K)` logits at the labels' size.
        labeled: float `(B,)`, 1 for images with at least one labelled
            pixel: the logged CE is the mean over them only.

    Returns:
        `{metric name: result}`, trackers first, then the mIoU.
    """
    for name, tracker in trackers.items():
        tracker.update_state(
            terms[name], sample_weight=labeled if name == "ce" else None
        )
    iou.update_state(labels, logits)
    return {metric.name: metric.result() for metric in [*trackers.values(), iou]}
