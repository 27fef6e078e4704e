"""Input pipelines: every one yields `(images, labels)` batches.

Images are float32 `[B, H, W, 3]` in 0..255 (models normalise inside) and
labels int32 `[B, H, W]` of class ids, with `ignore_class` marking void pixels.
Readers validate labels and name the offending file when they are out of range.
"""

from keras_pfs.data.augment import Augmentation
from keras_pfs.data.pipeline import make_pipeline
from keras_pfs.data.validation import assert_labels, check_labels

__all__ = [
    "Augmentation",
    "assert_labels",
    "check_labels",
    "make_pipeline",
]
