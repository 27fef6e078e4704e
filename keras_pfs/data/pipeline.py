"""The shuffle, decode, augment, batch and prefetch tail every reader shares."""

import numpy as np
import tensorflow as tf


def labeled_subset(num_labeled, fraction=1.0, seed=None, num_unlabeled=0):
    """Which records of a training set keep their labels.

    `round(fraction * num_labeled)` (at least 1) of the first `num_labeled`
    records, drawn by `seed` alone: every run of a seed labels the same
    images, whatever its losses. The `num_unlabeled` records after them
    (images without label files) never do.

    Args:
        num_labeled: records that have labels.
        fraction: the fraction of them that keeps its labels, in (0, 1].
        seed: seeds the draw; `None` for fresh randomness.
        num_unlabeled: records without labels, after the labelled ones.

    Returns:
        A bool array `[num_labeled + num_unlabeled]`.

    Example:

    >>> labeled_subset(8, 0.25, seed=0).sum()
    2
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"labeled_fraction must be in (0, 1], got {fraction}.")
    keep = np.zeros(num_labeled + num_unlabeled, dtype=bool)
    count = max(1, round(fraction * num_labeled))
    keep[np.random.default_rng(seed).permutation(num_labeled)[:count]] = True
    return keep


def make_pipeline(
    records,
    load,
    batch_size,
    training,
    augment=None,
    ignore_class=255,
    seed=None,
    shuffle_buffer=1024,
    labeled=None,
):
    """Turns a dataset of records into batches of `(images, labels)`.

    Records (file paths, in-memory arrays, TFDS examples) are shuffled before
    `load` decodes them, so shuffling costs little memory when records are
    paths.

    Args:
        records: a `tf.data.Dataset` of whatever `load` takes.
        load: maps one record to `(image, label)`: float32 `[H, W, 3]` in
            0..255 and int32 `[H, W]`.
        batch_size: images per batch. Batched images must share a size, so
            without a crop in `augment` the source must be same-sized or
            `batch_size` 1.
        training: shuffle every epoch, apply `augment` and drop the last
            partial batch (static batch shapes for training steps).
        augment: optional `Augmentation`; ignored unless `training`, because
            evaluation runs on full native-size images.
        ignore_class: label that `augment` pads with.
        seed: seeds shuffling and augmentation; `None` for fresh randomness.
        shuffle_buffer: records held by the shuffle buffer.
        labeled: optional per-record booleans (see `labeled_subset`): the
            labels of records marked False become void after `load`, so
            their images still teach through the distillation terms. Labelled
            and unlabelled images share one shuffled stream; a batch holds
            whatever mix the shuffle gives. All True is the same as `None`:
            readers pass their flags whatever the fraction, and the pipeline
            carries them only when some record is unlabelled.

    Returns:
        A prefetched, batched `tf.data.Dataset`.

    Example:
    ```python
    records = tf.data.Dataset.from_tensor_slices((images, labels))
    dataset = make_pipeline(
        records, lambda x, y: (tf.cast(x, "float32"), y), 8, training=False
    )
    ```
    """
    if labeled is not None and not np.all(labeled):
        # Attached before the shuffle, which then orders the records exactly
        # as without flags: runs with and without hidden labels see the same
        # images in the same batches.
        records = tf.data.Dataset.zip(
            records, tf.data.Dataset.from_tensor_slices(np.asarray(labeled))
        )

        def load_flagged(record, keep):
            image, label = load(*record) if isinstance(record, tuple) else load(record)
            return image, tf.where(keep, label, tf.cast(ignore_class, label.dtype))

        load_record = load_flagged
    else:
        load_record = load
    if training:
        records = records.shuffle(
            shuffle_buffer, seed=seed, reshuffle_each_iteration=True
        )
    dataset = records.map(load_record, num_parallel_calls=tf.data.AUTOTUNE)
    if training and augment is not None:
        dataset = augment.apply(dataset, ignore_class=ignore_class, seed=seed)
    dataset = dataset.batch(
        batch_size, drop_remainder=training, num_parallel_calls=tf.data.AUTOTUNE
    )
    return dataset.prefetch(tf.data.AUTOTUNE)
