"""Segmentation metrics."""

from keras_pfs.metrics.evaluate_segmenter import evaluate_segmenter
from keras_pfs.metrics.gradient_alignment import gradient_alignment
from keras_pfs.metrics.segmentation_iou import SegmentationIoU

__all__ = ["SegmentationIoU", "evaluate_segmenter", "gradient_alignment"]
