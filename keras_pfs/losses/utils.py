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


def match_grid(teacher_features, student_features):
    """Resizes the student's features bilinearly to the teacher's grid.

    The teacher's grid is the reference: both N x N matrices must index the
    same pixels, and the student is the side that is being taught.
    """
    t_shape, s_shape = teacher_features.shape, student_features.shape
    if None not in t_shape[1:3] and tuple(t_shape[1:3]) == tuple(s_shape[1:3]):
        return student_features
    # A size tensor works for grids unknown until run time (keras.ops resize
    # checks the size in Python and fails on them inside a graph).
    return tf.image.resize(
        student_features,
        tf.shape(teacher_features)[1:3],
        method="bilinear",
        antialias=False,
    )
