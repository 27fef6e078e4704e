"""Small helpers shared by the loss families."""

import tensorflow as tf
from keras import ops


def masked_image_mean(values, mask):
    """Mean of `(B, H, W)` values over each image's masked-in pixels.

    Args:
        values: `(B, H, W)` per-pixel values.
        mask: `(B, H, W)`, 1 where a pixel counts, 0 where it does not.

    Returns:
        `(B,)`; 0 for an image whose mask is empty (never NaN).
    """
    mask = ops.cast(mask, values.dtype)
    total = ops.sum(values * mask, axis=(1, 2))
    count = ops.sum(mask, axis=(1, 2))
    return total / ops.maximum(count, 1.0)


def match_grid(reference, x):
    """Resizes `x` `(B, h, w, C)` bilinearly to the grid (dims 1-2) of `reference`.

    Used to bring the student's features onto the teacher's grid (both N x N
    matrices must index the same pixels; the student is the side being
    taught) and logits onto the labels' size. Returns `x` itself when both
    sizes are known and equal.
    """
    if None not in reference.shape[1:3] and tuple(reference.shape[1:3]) == tuple(
        x.shape[1:3]
    ):
        return x
    # A size tensor works for grids unknown until run time (keras.ops resize
    # checks the size in Python and fails on them inside a graph).
    return tf.image.resize(
        x, tf.shape(reference)[1:3], method="bilinear", antialias=False
    )
