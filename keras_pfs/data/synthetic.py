"""A procedural segmentation dataset generated from a seed, for demos and tests.

Each image shows 1 to 4 shapes, rotated, scaled and occluding each other, on a
finely striped background. A shape's class is its geometry (circle, square,
triangle, ring, ...); its colour and shading are drawn independently of the
class. Telling shape from background is local (fine stripes against flat or
smoothly shaded colour), but naming the shape needs a receptive field covering
most of its outline, up to 90% of the image side. So a large network clearly
beats a tiny one: after 600 CPU steps (batch 8, 64x64, Adam 1e-3, crops of
scale 0.75-1.25) a dilated ResNet of 1.2M parameters reached 0.51-0.54 val mIoU
and a 0.16M-parameter six-convolution network 0.41-0.44 (two runs each; at 300
steps both were still near the all-background plateau). As in Pascal VOC, a
void band one pixel wide on each side (the ignore class) outlines every shape.
"""

import numpy as np
import tensorflow as tf

from keras_pfs.data.pipeline import labeled_subset, make_pipeline
from keras_pfs.data.reader import Reader
from keras_pfs.data.validation import check_labels

# Class `i + 1` is `SHAPES[i]`; class 0 is the background. Every shape is
# defined in a frame where its circumscribed circle has radius 1.
SHAPES = ("circle", "square", "triangle", "ring", "cross", "frame", "ellipse")

SPLITS = ("train", "val", "test")

# Radii as fractions of the shorter image side. Centres stay 0.7 radii inside
# the image, so most of every outline is visible.
_RADIUS_RANGE = (0.2, 0.45)
_CENTRE_MARGIN = 0.7
_MAX_SHAPES = 4
# Background stripes have periods of 3 to 8 pixels: visible to a small
# receptive field, unlike the shapes' smooth shading.
_STRIPE_FREQUENCY = (0.8, 2.0)
# Per-channel difference of a texture's two colours, and pixel noise sigma.
_CONTRAST = (30, 90)
_NOISE = (2, 8)

# The three inward edge normals of an upward equilateral triangle inscribed in
# the unit circle; every edge is at distance 0.5 from the centre.
_TRIANGLE_NORMALS = np.array(
    [[np.cos(a), np.sin(a)] for a in np.deg2rad([90.0, 210.0, 330.0])]
)


def _shape_mask(shape, u, v):
    """Boolean mask of `shape` on shape-frame coordinates `u`, `v`."""
    radius = np.hypot(u, v)
    box = np.maximum(np.abs(u), np.abs(v))
    if shape == "circle":
        return radius <= 1.0
    if shape == "square":
        return box <= 0.8
    if shape == "triangle":
        return np.all(
            u[..., None] * _TRIANGLE_NORMALS[:, 0]
            + v[..., None] * _TRIANGLE_NORMALS[:, 1]
            <= 0.5,
            axis=-1,
        )
    if shape == "ring":
        return (radius <= 1.0) & (radius >= 0.55)
    if shape == "cross":
        arm = 0.3
        return ((np.abs(u) <= arm) | (np.abs(v) <= arm)) & (box <= 0.9)
    if shape == "frame":
        return (box <= 0.8) & (box >= 0.45)
    if shape == "ellipse":
        return np.hypot(u, 2.0 * v) <= 1.0
    raise ValueError(f"Unknown shape {shape!r}.")


def _texture(rng, ys, xs, kinds):
    """A random colour texture in float 0..255 at pixel coordinates `ys`, `xs`.

    Args:
        rng: NumPy generator.
        ys: row coordinates, any shape; painting a shape only needs the
            texture under its mask.
        xs: column coordinates, same shape.
        kinds: texture kinds to draw from: "stripes", "shaded", "plain".

    Returns:
        Array of shape `ys.shape + (3,)`.
    """
    base = rng.uniform(0, 255, size=3)
    other = np.clip(
        base + rng.choice([-1, 1], size=3) * rng.uniform(*_CONTRAST, size=3), 0, 255
    )
    kind = kinds[rng.integers(len(kinds))]
    if kind == "stripes":
        # Random orientation, frequency and phase.
        angle = rng.uniform(0, np.pi)
        frequency = rng.uniform(*_STRIPE_FREQUENCY)
        wave = np.sin(
            frequency * (xs * np.cos(angle) + ys * np.sin(angle))
            + rng.uniform(0, 2 * np.pi)
        )
        weight = (wave > 0).astype(np.float32)
    elif kind == "shaded":
        # Smooth shading: a sum of a few random waves of periods 16 to 60 px.
        wave = np.zeros_like(xs)
        for _ in range(3):
            angle = rng.uniform(0, 2 * np.pi)
            wave += np.sin(
                rng.uniform(0.1, 0.4) * (xs * np.cos(angle) + ys * np.sin(angle))
                + rng.uniform(0, 2 * np.pi)
            )
        weight = np.clip(wave / 3.0 + 0.5, 0.0, 1.0)
    else:
        weight = np.zeros_like(xs)
    image = base + weight[..., None] * (other - base)
    image += rng.normal(0, rng.uniform(*_NOISE), size=image.shape)
    return image


def _void_border(labels, ignore_class):
    """Sets every pixel with a differently labelled 4-neighbour to void."""
    padded = np.pad(labels, 1, mode="edge")
    centre = padded[1:-1, 1:-1]
    edge = (
        (padded[:-2, 1:-1] != centre)
        | (padded[2:, 1:-1] != centre)
        | (padded[1:-1, :-2] != centre)
        | (padded[1:-1, 2:] != centre)
    )
    return np.where(edge, ignore_class, labels).astype(labels.dtype)


def _make_image(rng, height, width, num_classes, ignore_class):
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    image = _texture(rng, ys, xs, ("stripes",))
    labels = np.zeros((height, width), dtype=np.uint8)
    # Later shapes occlude earlier ones; labels follow the same painting order.
    for _ in range(rng.integers(1, _MAX_SHAPES + 1)):
        class_id = rng.integers(1, num_classes)
        radius = rng.uniform(*_RADIUS_RANGE) * min(height, width)
        margin = _CENTRE_MARGIN * radius
        cy = rng.uniform(margin, max(margin, height - margin))
        cx = rng.uniform(margin, max(margin, width - margin))
        angle = rng.uniform(0, 2 * np.pi)
        # Pixel coordinates in the shape's rotated, unit-radius frame.
        u = ((xs - cx) * np.cos(angle) + (ys - cy) * np.sin(angle)) / radius
        v = (-(xs - cx) * np.sin(angle) + (ys - cy) * np.cos(angle)) / radius
        mask = _shape_mask(SHAPES[class_id - 1], u, v)
        image[mask] = _texture(rng, ys[mask], xs[mask], ("plain", "shaded"))
        labels[mask] = class_id
    image = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    return image, _void_border(labels, ignore_class)


def make_synthetic_arrays(
    num_images, image_size=(64, 64), num_classes=5, seed=0, ignore_class=255
):
    """Generates the synthetic segmentation dataset as NumPy arrays.

    Image `i` depends only on `seed` and `i`, so the first `n` images of a
    larger set equal a set of `n` images with the same seed.

    Args:
        num_images: number of images.
        image_size: `(height, width)`.
        num_classes: classes including background (class 0); class `k >= 1`
            is the shape `SHAPES[k - 1]`. From 2 to `len(SHAPES) + 1`.
        seed: an int or a tuple of ints (NumPy `SeedSequence` entropy).
        ignore_class: label of the void band around shapes; must fit in
            uint8 and lie outside `[0, num_classes)`.

    Returns:
        `(images, labels)`: uint8 arrays `[N, H, W, 3]` and `[N, H, W]`.

    Example:
    ```python
    images, labels = make_synthetic_arrays(8, image_size=(64, 64), seed=0)
    ```
    """
    if not 2 <= num_classes <= len(SHAPES) + 1:
        raise ValueError(
            f"num_classes must be in [2, {len(SHAPES) + 1}], got {num_classes}."
        )
    if not num_classes <= ignore_class <= 255:
        raise ValueError(
            f"ignore_class must be in [{num_classes}, 255] (uint8 labels, outside "
            f"the classes), got {ignore_class}."
        )
    height, width = image_size
    images = np.empty((num_images, height, width, 3), dtype=np.uint8)
    labels = np.empty((num_images, height, width), dtype=np.uint8)
    children = np.random.SeedSequence(seed).spawn(num_images)
    for i, child in enumerate(children):
        images[i], labels[i] = _make_image(
            np.random.default_rng(child), height, width, num_classes, ignore_class
        )
    return images, labels


def synthetic_dataset(
    split="train",
    num_images=512,
    image_size=(64, 64),
    num_classes=5,
    seed=0,
    batch_size=8,
    training=False,
    augment=None,
    ignore_class=255,
    labeled_fraction=1.0,
    num_unlabeled=0,
):
    """The synthetic dataset as a batched `tf.data.Dataset`.

    The split's images are `make_synthetic_arrays(..., seed=(seed, index))`
    where `index` is the split's position in `SPLITS`, so splits never share
    images and each split is reproducible.

    Args:
        split: one of `SPLITS`.
        num_images: images in this split.
        image_size: `(height, width)`.
        num_classes: classes including background, see `make_synthetic_arrays`.
        seed: base seed; also seeds shuffling and augmentation.
        batch_size: images per batch.
        training: shuffle every epoch, apply `augment` and drop the last
            partial batch.
        augment: optional `Augmentation`, used only when `training`.
        ignore_class: label of the void band around shapes.
        labeled_fraction: keep the labels of this fraction of the images,
            drawn by `seed` (see `keras_pfs.data.labeled_subset`); the others
            are used as unlabelled images.
        num_unlabeled: further images of the same kind, generated apart from
            every split, streamed without labels (void everywhere).

    Returns:
        A dataset of `(images, labels)`: float32 `[B, H, W, 3]` in 0..255 and
        int32 `[B, H, W]`.

    Example:
    ```python
    train = synthetic_dataset("train", num_images=512, training=True)
    val = synthetic_dataset("val", num_images=128)
    ```
    """
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}; expected one of {SPLITS}.")
    images, labels = make_synthetic_arrays(
        num_images,
        image_size=image_size,
        num_classes=num_classes,
        seed=(seed, SPLITS.index(split)),
        ignore_class=ignore_class,
    )
    check_labels(labels, num_classes, ignore_class, source="synthetic arrays")
    labeled = labeled_subset(num_images, labeled_fraction, seed, num_unlabeled)
    if num_unlabeled:
        # Entropy no split uses: these images are in no split.
        extra, _ = make_synthetic_arrays(
            num_unlabeled,
            image_size=image_size,
            num_classes=num_classes,
            seed=(seed, len(SPLITS)),
            ignore_class=ignore_class,
        )
        images = np.concatenate([images, extra])
        labels = np.concatenate(
            [labels, np.full(extra.shape[:3], ignore_class, labels.dtype)]
        )
    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    return make_pipeline(
        dataset,
        lambda image, label: (tf.cast(image, tf.float32), tf.cast(label, tf.int32)),
        batch_size=batch_size,
        training=training,
        augment=augment,
        ignore_class=ignore_class,
        seed=seed,
        shuffle_buffer=len(images),
        labeled=labeled,
    )


class SyntheticReader(Reader):
    """`dataset="synthetic"`: `synthetic_dataset` with the config's sizes;
    `unlabeled_images` is a count of extra generated images."""

    needs_data_dir = False
    fixed_size = True
    unlabeled_images = "a count of extra images, an integer >= 1"

    def accepts_unlabeled(self, value):
        return isinstance(value, int) and not isinstance(value, bool) and value >= 1

    def count_unlabeled(self, unlabeled):
        return unlabeled

    def num_images(self, config, split):
        return config.num_train_images if split == "train" else config.num_val_images

    def dataset(self, config, split, unlabeled, labeled_fraction, **options):
        return synthetic_dataset(
            split,
            num_images=self.num_images(config, split),
            image_size=config.image_size,
            num_classes=config.num_classes,
            labeled_fraction=labeled_fraction,
            num_unlabeled=unlabeled or 0,
            **options,
        )
