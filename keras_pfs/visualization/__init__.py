"""Pictures of predictions, knowledge-gap weights and pixel similarities."""

from keras_pfs.visualization.segmentation_panel import (
    CAMVID_PALETTE,
    colorize,
    segmentation_panel,
    similarity_map,
)

__all__ = ["CAMVID_PALETTE", "colorize", "segmentation_panel", "similarity_map"]
