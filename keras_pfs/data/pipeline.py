"""The shuffle, decode, augment, batch and prefetch tail every reader shares."""

import tensorflow as tf


def make_pipeline(
    records,
    load,
    batch_size,
    training,
    augment=None,
    ignore_class=255,
    seed=None,
    shuffle_buffer=1024,
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
    if training:
        records = records.shuffle(
            shuffle_buffer, seed=seed, reshuffle_each_iteration=True
        )
    dataset = records.map(load, num_parallel_calls=tf.data.AUTOTUNE)
    if training and augment is not None:
        dataset = augment.apply(dataset, ignore_class=ignore_class, seed=seed)
    dataset = dataset.batch(
        batch_size, drop_remainder=training, num_parallel_calls=tf.data.AUTOTUNE
    )
    return dataset.prefetch(tf.data.AUTOTUNE)
