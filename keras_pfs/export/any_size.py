"""A segmenter made to run on images of any size, as exports promise."""

import keras
import tensorflow as tf

# Candidate size multiples (network strides), smallest first.
_MULTIPLES = (1, 2, 4, 8, 16, 32, 64, 128)
# A multiple m is tried on a (13 m, 11 m) image: odd factors, so that a
# model needing a larger power of two never passes by chance.
_PROBE_FACTORS = (13, 11)


class _AnySizeUpSampling2D(keras.layers.UpSampling2D):
    """`UpSampling2D` with a non-nearest interpolation that also runs on
    images whose size is unknown until run time.

    Keras's resizes through `keras.ops.image.resize`, which checks the
    target size in Python and fails while a SavedModel for any image size
    is traced. This computes the same `tf.image.resize` from the run-time
    shape.
    """

    def call(self, inputs):
        x = inputs
        if self.data_format == "channels_first":
            x = tf.transpose(x, (0, 2, 3, 1))
        x = tf.image.resize(x, tf.shape(x)[1:3] * self.size, method=self.interpolation)
        if self.data_format == "channels_first":
            x = tf.transpose(x, (0, 3, 1, 2))
        return x


def _interpolating(layer):
    return (
        isinstance(layer, keras.layers.UpSampling2D)
        and layer.interpolation != "nearest"
    )


def _with_any_size_upsampling(segmenter):
    """`segmenter`, its non-nearest `UpSampling2D` layers (nested models
    included) replaced by `_AnySizeUpSampling2D`; every other layer is
    shared, weights included."""
    # Private Keras API (written against Keras 3.15.1): every layer, nested
    # ones included; tests/test_keras_private.py checks it.
    if not any(_interpolating(layer) for layer in segmenter._flatten_layers()):
        return segmenter

    def replace(layer):
        if _interpolating(layer):
            return _AnySizeUpSampling2D.from_config(layer.get_config())
        return layer

    return keras.models.clone_model(segmenter, clone_function=replace, recursive=True)


def _runs_at(segmenter, size):
    """Whether `segmenter` builds its graph for one `size` image (TF checks
    the shapes of its ops while tracing), without computing anything."""
    trace = tf.function(lambda images: segmenter(images, training=False))
    try:
        trace.get_concrete_function(tf.TensorSpec((1, *size, 3), tf.float32))
    except (ValueError, tf.errors.InvalidArgumentError):
        return False
    return True


def size_multiple(segmenter):
    """The multiple that image sides must be for `segmenter` to run.

    1 for models that resize to their input's size (every `keras_pfs`
    model); `2**k` for a model with `k` downsamplings whose skip
    connections join maps that must then be equal (a U-Net).

    Args:
        segmenter: a Keras model from float32 images `(B, H, W, 3)`.

    Returns:
        The smallest of 1, 2, 4, ..., 128 at which it runs.

    Raises:
        ValueError: it runs at none of them.

    Example:

    >>> size_multiple(keras_pfs.models.build_segmenter("tiny_mobile", 3))
    1
    """
    for multiple in _MULTIPLES:
        if _runs_at(segmenter, [multiple * f for f in _PROBE_FACTORS]):
            return multiple
    raise ValueError(
        f"Model {segmenter.name!r} runs at no image size tried (sides that are "
        f"multiples of {_MULTIPLES[-1]} or less); check it on an image of the size "
        "it was trained on."
    )


class _PaddedToMultiple(keras.layers.Layer):
    """Runs a segmenter on images padded at the bottom and right to a
    multiple of `multiple` (mirrored: no artificial border), and crops its
    logits back to the images' size."""

    def __init__(self, segmenter, multiple, **kwargs):
        super().__init__(**kwargs)
        self.segmenter = segmenter
        self.multiple = multiple

    def call(self, images, training=False):
        height, width = tf.shape(images)[1], tf.shape(images)[2]
        padding = [[0, 0], [0, -height % self.multiple], [0, -width % self.multiple]]
        padded = tf.pad(images, [*padding, [0, 0]], mode="SYMMETRIC")
        outputs = self.segmenter(padded, training=training)
        logits = outputs["logits"] if isinstance(outputs, dict) else outputs
        return logits[:, :height, :width]


def any_size_segmenter(segmenter):
    """`segmenter`, made to run on images of any size.

    Two things keep a working Keras segmenter from running at any size once
    exported: a bilinear `UpSampling2D` (Keras cannot trace it for a size
    unknown until run time; it is swapped for an equivalent resize), and
    skip connections that need image sides divisible by the network stride
    (a U-Net at 50x70). For the latter the images are padded, mirrored, at
    the bottom and right to the multiple `size_multiple` finds, and the
    logits are cropped back, so every pixel still gets a prediction. Models
    that already run at any size, or are built for one size, are returned
    as they are.

    Args:
        segmenter: a Keras model from float32 images `(B, H, W, 3)` in
            0..255 to logits or `{"logits": ...}`.

    Returns:
        `segmenter`, or a model from the same images to logits
        `(B, H, W, K)` sharing its weights.

    Raises:
        ValueError: the model runs at no image size tried.

    Example:

    >>> serving = build_serving_model(any_size_segmenter(unet))  # doctest: +SKIP
    """
    inputs = getattr(segmenter, "inputs", None)
    if inputs and None not in inputs[0].shape[1:3]:
        return segmenter  # built for one size: exported at that size only
    segmenter = _with_any_size_upsampling(segmenter)
    multiple = size_multiple(segmenter)
    if multiple == 1:
        return segmenter
    images = keras.Input((None, None, 3), name="images")
    logits = _PaddedToMultiple(segmenter, multiple, name="padded_to_multiple")(images)
    return keras.Model(images, logits, name=segmenter.name)
