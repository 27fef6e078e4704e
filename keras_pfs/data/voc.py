"""Pascal VOC 2012 segmentation, read from its original folder layout."""

import os

import tensorflow as tf

from keras_pfs.data.image_files import read_pair
from keras_pfs.data.list_file import read_path_list
from keras_pfs.data.pipeline import labeled_subset, make_pipeline
from keras_pfs.data.reader import Reader

VOC_CLASS_NAMES = (
    "background",
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
)

# The id VOC's label files use for void (object outlines, difficult regions).
VOC_VOID = 255


def read_voc_split(root, split="train", label_dir="SegmentationClass"):
    """Lists a VOC split's image and label files, checking that they exist.

    Args:
        root: the `VOC2012` folder holding `JPEGImages/`, `label_dir` and
            `ImageSets/Segmentation/`.
        split: name of a file in `ImageSets/Segmentation/` (`train`, `val`,
            `trainval`, ...), without `.txt`.
        label_dir: folder of label PNGs, e.g. `SegmentationClassAug` for the
            SBD-augmented grayscale labels.

    Returns:
        `(image_paths, label_paths)`.

    Raises:
        ValueError: if the split file or a listed file is missing, naming it.

    Example:
    ```python
    images, labels = read_voc_split("VOCdevkit/VOC2012", "val")
    ```
    """
    split_file = os.path.join(root, "ImageSets", "Segmentation", f"{split}.txt")

    def to_paths(line, where):
        name = line.strip()
        return (
            os.path.join(root, "JPEGImages", f"{name}.jpg"),
            os.path.join(root, label_dir, f"{name}.png"),
        )

    return read_path_list(split_file, "VOC split file", to_paths)


def voc_dataset(
    root,
    split="train",
    ignore_class=255,
    batch_size=8,
    training=False,
    augment=None,
    seed=None,
    label_dir="SegmentationClass",
    labeled_fraction=1.0,
):
    """Streams Pascal VOC 2012 segmentation (21 classes, 0 = background).

    Label PNGs may be VOC palette PNGs (as shipped) or grayscale id maps (as in
    `SegmentationClassAug`); see `read_label`. VOC's void id 255 is mapped to
    `ignore_class`. VOC images vary in size, so evaluation without a crop
    needs `batch_size=1`.

    Args:
        root: the `VOC2012` folder.
        split: `train`, `val`, or another file of `ImageSets/Segmentation/`.
        ignore_class: id that void pixels get in the output.
        batch_size: images per batch.
        training: shuffle every epoch, apply `augment` and drop the last
            partial batch.
        augment: optional `Augmentation`, used only when `training`.
        seed: seeds shuffling and augmentation; `None` for fresh randomness.
        label_dir: folder of label PNGs under `root`.
        labeled_fraction: keep the labels of this fraction of the images,
            drawn by `seed` (see `keras_pfs.data.labeled_subset`); the others
            are used as unlabelled images.

    Returns:
        A dataset of `(images, labels)`: float32 `[B, H, W, 3]` in 0..255 and
        int32 `[B, H, W]`.

    Example:
    ```python
    val = voc_dataset("VOCdevkit/VOC2012", "val", batch_size=1)
    ```
    """
    image_paths, label_paths = read_voc_split(root, split, label_dir)
    num_classes = len(VOC_CLASS_NAMES)

    def load(image_path, label_path):
        image, label = read_pair(image_path, label_path, num_classes, VOC_VOID)
        return image, tf.where(label == VOC_VOID, ignore_class, label)

    records = tf.data.Dataset.from_tensor_slices((image_paths, label_paths))
    return make_pipeline(
        records,
        load,
        batch_size=batch_size,
        training=training,
        augment=augment,
        ignore_class=ignore_class,
        seed=seed,
        shuffle_buffer=len(image_paths),
        labeled=labeled_subset(len(image_paths), labeled_fraction, seed),
    )


class VocReader(Reader):
    """`dataset="voc"`: `voc_dataset` of the VOC2012 folder `data_dir`."""

    def split_files(self, config, split):
        return read_voc_split(config.data_dir, split)

    def dataset(self, config, split, unlabeled, labeled_fraction, **options):
        return voc_dataset(
            config.data_dir, split=split, labeled_fraction=labeled_fraction, **options
        )
