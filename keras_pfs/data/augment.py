"""Training augmentation of `(image, label)` pairs: scale, crop and flip."""

import dataclasses

import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class Augmentation:
    """Random scale, then random crop, then horizontal flip.

    All randomness comes from stateless TF ops driven by an explicit seed, so
    a pipeline seeded with `apply(..., seed=s)` repeats exactly.

    Args:
        crop_size: `(height, width)` of the crops, or `None` to keep the
            scaled size. Images smaller than the crop are padded at the bottom
            and right, images with 0 and labels with the ignore class.
        scale_range: `(low, high)` factor drawn uniformly per image; images
            resize bilinearly, labels with nearest neighbour so they stay
            class ids. `None` disables scaling.
        flip: flip image and label left-right with probability 0.5.

    Example:
    ```python
    augment = Augmentation(crop_size=(64, 64), scale_range=(0.5, 2.0))
    image, label = augment(image, label, seed=[1, 2], ignore_class=255)
    ```
    """

    crop_size: tuple[int, int] | None = None
    scale_range: tuple[float, float] | None = (0.5, 2.0)
    flip: bool = True

    def __post_init__(self):
        if self.crop_size is not None and min(self.crop_size) < 1:
            raise ValueError(f"crop_size must be positive, got {self.crop_size}.")
        if self.scale_range is not None and not (
            0 < self.scale_range[0] <= self.scale_range[1]
        ):
            raise ValueError(
                f"scale_range must satisfy 0 < low <= high, got {self.scale_range}."
            )

    def __call__(self, image, label, seed, ignore_class=255):
        """Augments one pair.

        Args:
            image: float32 `[H, W, 3]`.
            label: int32 `[H, W]`.
            seed: int32/int64 tensor of shape `[2]` for the stateless ops.
            ignore_class: label used to pad crops.

        Returns:
            The augmented `(image, label)`.
        """
        scale_seed, row_seed, col_seed, flip_seed = tf.unstack(
            tf.random.experimental.stateless_split(seed, num=4)
        )
        if self.scale_range is not None:
            image, label = self._scale(image, label, scale_seed)
        if self.crop_size is not None:
            image, label = self._crop(image, label, row_seed, col_seed, ignore_class)
        if self.flip:
            flip = tf.random.stateless_uniform([], flip_seed) < 0.5
            image, label = tf.cond(
                flip,
                lambda: (tf.reverse(image, [1]), tf.reverse(label, [1])),
                lambda: (image, label),
            )
        return image, label

    def apply(self, dataset, ignore_class=255, seed=None):
        """Maps the augmentation over a dataset of `(image, label)` pairs.

        Each element gets its own seed from `tf.data.Dataset.random`, which
        draws a new (but, for a given `seed`, reproducible) sequence every
        epoch.

        Args:
            dataset: `tf.data.Dataset` of unbatched `(image, label)`.
            ignore_class: label used to pad crops.
            seed: int, or `None` for fresh randomness.

        Returns:
            The augmented dataset.
        """
        seeds = tf.data.Dataset.random(
            seed=seed, rerandomize_each_iteration=True
        ).batch(2)
        return tf.data.Dataset.zip((dataset, seeds)).map(
            lambda pair, pair_seed: self(*pair, pair_seed, ignore_class),
            num_parallel_calls=tf.data.AUTOTUNE,
        )

    def _scale(self, image, label, seed):
        low, high = self.scale_range
        scale = tf.random.stateless_uniform([], seed, low, high)
        size = tf.cast(tf.shape(label), tf.float32) * scale
        size = tf.maximum(tf.cast(tf.round(size), tf.int32), 1)
        image = tf.image.resize(image, size, method="bilinear")
        label = tf.image.resize(label[..., None], size, method="nearest")[..., 0]
        return image, label

    def _crop(self, image, label, row_seed, col_seed, ignore_class):
        height, width = self.crop_size
        shape = tf.shape(label)
        pad_rows = tf.maximum(height - shape[0], 0)
        pad_cols = tf.maximum(width - shape[1], 0)
        image = tf.pad(image, [[0, pad_rows], [0, pad_cols], [0, 0]])
        label = tf.pad(
            label, [[0, pad_rows], [0, pad_cols]], constant_values=ignore_class
        )
        shape = tf.shape(label)
        row = tf.random.stateless_uniform(
            [], row_seed, 0, shape[0] - height + 1, dtype=tf.int32
        )
        col = tf.random.stateless_uniform(
            [], col_seed, 0, shape[1] - width + 1, dtype=tf.int32
        )
        image = tf.slice(image, [row, col, 0], [height, width, 3])
        label = tf.slice(label, [row, col], [height, width])
        return image, label
