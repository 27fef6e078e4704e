"""Segmenters with the two outputs the Distiller needs: logits and features."""

from keras_pfs.models.data_check import check_segmenter_fits
from keras_pfs.models.deeplab import build_deeplab_segmenter
from keras_pfs.models.keras_file import load_keras_file
from keras_pfs.models.presets import build_segmenter, list_presets
from keras_pfs.models.resize_like import ResizeLike
from keras_pfs.models.wrap_segmenter import wrap_segmenter

__all__ = [
    "ResizeLike",
    "build_deeplab_segmenter",
    "build_segmenter",
    "check_segmenter_fits",
    "list_presets",
    "load_keras_file",
    "wrap_segmenter",
]
