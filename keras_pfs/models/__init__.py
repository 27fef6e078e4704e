"""Segmenters with the two outputs the Distiller needs: logits and features."""

from keras_pfs.models.data_check import check_segmenter_fits
from keras_pfs.models.deeplab import build_deeplab_segmenter
from keras_pfs.models.keras_file import load_keras_file
from keras_pfs.models.keras_hub_segmenter import (
    KERAS_HUB_PREFIX,
    KerasHubSegmenter,
    from_keras_hub,
)
from keras_pfs.models.presets import build_segmenter, list_presets
from keras_pfs.models.resize_like import ResizeLike
from keras_pfs.models.wrap_segmenter import wrap_segmenter

__all__ = [
    "KERAS_HUB_PREFIX",
    "KerasHubSegmenter",
    "ResizeLike",
    "build_deeplab_segmenter",
    "build_segmenter",
    "check_segmenter_fits",
    "from_keras_hub",
    "list_presets",
    "load_keras_file",
    "wrap_segmenter",
]
