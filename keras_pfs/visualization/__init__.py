"""Pictures of predictions, knowledge-gap weights and pixel similarities."""

from keras_pfs.visualization.segmentation_panel import (
    colorize,
    segmentation_panel,
    similarity_map,
)

__all__ = ["colorize", "segmentation_panel", "similarity_map"]
