"""Input pipelines: every one yields `(images, labels)` batches.

Images are float32 `[B, H, W, 3]` in 0..255 (models normalise inside) and
labels int32 `[B, H, W]` of class ids, with `ignore_class` marking void pixels.
Readers validate labels and name the offending file when they are out of range.
`READERS` maps each `ExperimentConfig.dataset` name to its `Reader`.
"""

from keras_pfs.data.augment import Augmentation
from keras_pfs.data.image_files import read_image, read_label, read_pair
from keras_pfs.data.list_file import (
    list_file_dataset,
    read_image_list,
    read_list_file,
)
from keras_pfs.data.palette import (
    CAMVID_PALETTE,
    class_palette,
    voc_colormap,
    voc_colours_to_ids,
)
from keras_pfs.data.pipeline import labeled_subset, make_pipeline
from keras_pfs.data.preflight import check_files
from keras_pfs.data.reader import Reader
from keras_pfs.data.registry import READERS, get_reader
from keras_pfs.data.synthetic import (
    SHAPES,
    SPLITS,
    make_synthetic_arrays,
    synthetic_dataset,
)
from keras_pfs.data.tfds_reader import (
    TFDS_SEGMENTATION,
    TfdsSegmentation,
    oxford_iiit_pet_labels,
    scene_parse150_labels,
    tfds_dataset,
    tfds_segmentation,
)
from keras_pfs.data.validation import assert_labels, check_labels
from keras_pfs.data.voc import VOC_CLASS_NAMES, read_voc_split, voc_dataset

__all__ = [
    "CAMVID_PALETTE",
    "READERS",
    "class_palette",
    "SHAPES",
    "SPLITS",
    "TFDS_SEGMENTATION",
    "VOC_CLASS_NAMES",
    "Augmentation",
    "Reader",
    "TfdsSegmentation",
    "assert_labels",
    "check_files",
    "check_labels",
    "get_reader",
    "labeled_subset",
    "list_file_dataset",
    "make_pipeline",
    "make_synthetic_arrays",
    "oxford_iiit_pet_labels",
    "read_image",
    "read_image_list",
    "read_label",
    "read_list_file",
    "read_pair",
    "read_voc_split",
    "scene_parse150_labels",
    "synthetic_dataset",
    "tfds_dataset",
    "tfds_segmentation",
    "voc_colormap",
    "voc_colours_to_ids",
    "voc_dataset",
]
