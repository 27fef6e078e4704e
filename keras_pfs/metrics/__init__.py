"""Segmentation metrics."""

from keras_pfs.metrics.segmentation_iou import SegmentationIoU

__all__ = ["SegmentationIoU"]
