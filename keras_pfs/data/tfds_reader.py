"""Segmentation datasets from the TensorFlow Datasets catalogue, by name.

Supported datasets and how their masks become `(num_classes, ignore)` labels:

- `oxford_iiit_pet`: the `segmentation_mask` trimap holds 1 = pet, 2 =
  background, 3 = border (not classified). Labels: 0 = background, 1 = pet,
  border -> ignore. Splits `train` and `test`.
- `scene_parse150`: despite its name, TFDS builds this dataset from the Places
  Challenge 2017 *instance* masks (`annotations_instance.tar`), whose red
  channel is one of 100 object categories (1..100) and 0 for stuff and
  unlabelled pixels. Labels: category `c` -> `c - 1` (100 classes), 0 ->
  ignore. So this is a 100-class "things" task, not the 150-class ADE20K
  scene-parsing benchmark. Splits `train` and `test` (the ADE20K validation
  images).

`split="val"` selects each dataset's held-out split (`test` for both).

Offline use: with `download=False` (the default) nothing is fetched. A dataset
already prepared in `data_dir` is read as is; otherwise pass `manual_dir`, a
folder holding the dataset's original archives under their original names
(e.g. `images.tar.gz` and `annotations.tar.gz` for the pets), which TFDS then
prepares into `data_dir` without network access.
"""

import dataclasses
import os
from collections.abc import Callable

import tensorflow as tf

from keras_pfs.data.pipeline import make_pipeline
from keras_pfs.data.reader import Reader
from keras_pfs.data.validation import assert_labels


def oxford_iiit_pet_labels(mask, ignore_class=255):
    """Maps an Oxford-IIIT Pet trimap to labels {0: background, 1: pet}.

    Args:
        mask: integer tensor `[H, W, 1]` or `[H, W]` with values 1, 2, 3.
        ignore_class: label for the border value 3.

    Returns:
        int32 `[H, W]`; values other than 1, 2, 3 become -1 so that label
        validation rejects them.

    Example:
    ```python
    oxford_iiit_pet_labels(tf.constant([[1, 2, 3]]))  # [[1, 0, 255]]
    ```
    """
    trimap = _single_channel(mask)
    table = tf.constant([-1, 1, 0, ignore_class], dtype=tf.int32)
    known = tf.logical_and(trimap >= 1, trimap <= 3)
    return tf.where(known, tf.gather(table, tf.clip_by_value(trimap, 0, 3)), -1)


def scene_parse150_labels(mask, ignore_class=255):
    """Maps a TFDS `scene_parse150` annotation to 100 object classes.

    Args:
        mask: integer tensor `[H, W, 3]` (red: category 1..100 or 0; green:
            instance id, unused) or `[H, W]` of categories.
        ignore_class: label for category 0 (stuff and unlabelled pixels).

    Returns:
        int32 `[H, W]`: category `c` becomes `c - 1`, 0 becomes
        `ignore_class`.

    Example:
    ```python
    scene_parse150_labels(tf.constant([[0, 1, 100]]))  # [[255, 0, 99]]
    ```
    """
    category = _single_channel(mask)
    return tf.where(category == 0, ignore_class, category - 1)


def _single_channel(mask):
    mask = tf.cast(mask, tf.int32)
    if mask.shape.rank == 3:
        mask = mask[..., 0]
    return mask


@dataclasses.dataclass(frozen=True)
class TfdsSegmentation:
    """How to read one TFDS dataset as semantic segmentation.

    Args:
        mask_key: feature holding the mask.
        num_classes: classes after `to_labels`.
        to_labels: `(mask, ignore_class) -> int32 [H, W]` labels.
        val_split: the TFDS split that `split="val"` selects.
    """

    mask_key: str
    num_classes: int
    to_labels: Callable
    val_split: str = "test"


TFDS_SEGMENTATION = {
    "oxford_iiit_pet": TfdsSegmentation(
        mask_key="segmentation_mask",
        num_classes=2,
        to_labels=oxford_iiit_pet_labels,
    ),
    "scene_parse150": TfdsSegmentation(
        mask_key="annotation",
        num_classes=100,
        to_labels=scene_parse150_labels,
    ),
}


def tfds_segmentation(name):
    """The `TfdsSegmentation` of a supported dataset name.

    Args:
        name: a key of `TFDS_SEGMENTATION`, optionally with a TFDS version or
            config suffix (`"oxford_iiit_pet:4.*.*"`).

    Returns:
        The `TfdsSegmentation`.

    Raises:
        ValueError: for datasets without a known mask mapping.

    Example:
    ```python
    tfds_segmentation("oxford_iiit_pet").num_classes  # 2
    ```
    """
    base = name.split(":")[0].split("/")[0]
    if base not in TFDS_SEGMENTATION:
        raise ValueError(
            f"TFDS dataset {name!r} is not supported for segmentation; "
            f"supported: {', '.join(sorted(TFDS_SEGMENTATION))}."
        )
    return TFDS_SEGMENTATION[base]


def _tfds():
    # Imported on use: only this reader needs TFDS, and importing it would cost
    # every user of keras_pfs.data about half a second.
    import tensorflow_datasets

    return tensorflow_datasets


def _prepare(builder, name, data_dir, manual_dir, download):
    if builder.is_prepared():
        return
    if not download:
        if manual_dir is None:
            raise ValueError(
                f"TFDS dataset {name!r} is not prepared in "
                f"{data_dir or 'the default TFDS data_dir'}; pass manual_dir= a "
                "folder with its original archives, or download=True."
            )
        missing = sorted(
            info.filename
            for info in builder.url_infos.values()
            if not os.path.exists(os.path.join(manual_dir, info.filename))
        )
        if missing:
            raise ValueError(
                f"manual_dir {manual_dir} lacks the archives {', '.join(missing)} "
                f"of TFDS dataset {name!r}; add them or pass download=True."
            )
    builder.download_and_prepare(
        download_config=_tfds().download.DownloadConfig(manual_dir=manual_dir)
    )


def tfds_dataset(
    name,
    split="train",
    ignore_class=255,
    batch_size=8,
    training=False,
    augment=None,
    seed=None,
    data_dir=None,
    manual_dir=None,
    download=False,
):
    """Streams a TFDS catalogue dataset as `(images, labels)` batches.

    Args:
        name: a supported dataset name, see `TFDS_SEGMENTATION`.
        split: a TFDS split (e.g. `"train"`, `"test"`, `"train[:90%]"`), or
            `"val"` for the dataset's held-out split.
        ignore_class: label for pixels the dataset leaves unclassified.
        batch_size: images per batch; TFDS images vary in size, so evaluation
            without a crop needs `batch_size=1`.
        training: shuffle every epoch, apply `augment` and drop the last
            partial batch.
        augment: optional `Augmentation`, used only when `training`.
        seed: seeds shuffling and augmentation; `None` for fresh randomness.
        data_dir: TFDS data directory (default: TFDS's own default).
        manual_dir: folder with the original archives, used to prepare the
            dataset without network access.
        download: allow TFDS to fetch what is missing.

    Returns:
        A dataset of `(images, labels)`: float32 `[B, H, W, 3]` in 0..255 and
        int32 `[B, H, W]`; `num_classes` is
        `tfds_segmentation(name).num_classes`.

    Example:
    ```python
    val = tfds_dataset("oxford_iiit_pet", "val", batch_size=1,
                       manual_dir="~/archives/pets")
    ```
    """
    tfds = _tfds()
    spec = tfds_segmentation(name)
    if manual_dir is not None:
        manual_dir = os.path.expanduser(manual_dir)
    builder = tfds.builder(name, data_dir=data_dir)
    _prepare(builder, name, data_dir, manual_dir, download)
    tfds_split = spec.val_split if split == "val" else split
    examples = builder.as_dataset(
        split=tfds_split,
        shuffle_files=training,
        read_config=tfds.ReadConfig(shuffle_seed=seed),
    )
    source = f"TFDS {name} {tfds_split}"

    def load(example):
        image = tf.cast(example["image"], tf.float32)
        labels = spec.to_labels(example[spec.mask_key], ignore_class)
        labels = assert_labels(labels, spec.num_classes, ignore_class, source)
        return image, labels

    # Examples hold decoded images, so the shuffle buffer is kept modest.
    return make_pipeline(
        examples,
        load,
        batch_size=batch_size,
        training=training,
        augment=augment,
        ignore_class=ignore_class,
        seed=seed,
        shuffle_buffer=256,
    )


class TfdsReader(Reader):
    """`dataset="tfds"`: `tfds_dataset` of the catalogue dataset `tfds_name`,
    prepared in `data_dir` (TFDS's default without) from `manual_dir`."""

    needs_data_dir = False
    no_labeled_fraction = "its size is not known up front"

    def dataset(self, config, split, unlabeled, labeled_fraction, **options):
        # Both are refused by the config for TFDS: always None and 1.
        del unlabeled, labeled_fraction
        return tfds_dataset(
            config.tfds_name,
            split=split,
            data_dir=config.data_dir,
            manual_dir=config.manual_dir,
            **options,
        )
