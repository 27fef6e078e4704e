"""Resizes a feature map to the spatial size of another tensor."""

import keras
import tensorflow as tf


def resize_like(x, reference, interpolation="bilinear"):
    """Resizes `x` `(B, h, w, C)` to the height and width (dims 1-2) of
    `reference`, sizes known or not until run time.

    Args:
        x: the tensor to resize.
        reference: any tensor with at least 3 dims, e.g. an image or labels.
        interpolation: `"bilinear"` or `"nearest"`.

    Returns:
        `x` resized, `(B, H, W, C)`.

    Example:

    >>> resize_like(keras.ops.zeros((1, 6, 8, 4)), keras.ops.zeros((1, 23, 30))).shape
    TensorShape([1, 23, 30, 4])
    """
    # tf.image.resize takes a size tensor; keras.ops.image.resize checks the
    # size in Python and fails on images of unknown size in a graph.
    return tf.image.resize(
        x, tf.shape(reference)[1:3], method=interpolation, antialias=False
    )


@keras.saving.register_keras_serializable(package="keras_pfs")
class ResizeLike(keras.layers.Layer):
    """Resizes `inputs[0]` to the height and width of `inputs[1]`.

    Fixed-factor upsampling (as in `keras.layers.UpSampling2D`) breaks on
    images whose size is not a multiple of the network stride (CamVid's
    240x180 gives 23 rows at stride 8, 6 at stride 32). Resizing to the
    reference's actual size works for any input size.

    Args:
        interpolation: `"bilinear"` or `"nearest"`.

    Example:

    >>> x = keras.ops.zeros((1, 6, 8, 4))
    >>> ResizeLike()([x, keras.ops.zeros((1, 23, 30, 16))]).shape
    (1, 23, 30, 4)
    """

    def __init__(self, interpolation="bilinear", **kwargs):
        super().__init__(**kwargs)
        self.interpolation = interpolation

    def call(self, inputs):
        return resize_like(*inputs, interpolation=self.interpolation)

    def compute_output_shape(self, input_shape):
        x_shape, reference_shape = input_shape
        return (x_shape[0], reference_shape[1], reference_shape[2], x_shape[-1])

    def get_config(self):
        return {**super().get_config(), "interpolation": self.interpolation}
