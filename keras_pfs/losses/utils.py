"""Small helpers shared by the loss families."""

from keras import ops

from keras_pfs.models.resize_like import resize_like

NORM_EPSILON = 1e-12


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
    sizes are known and equal; keeps `x`'s dtype (bilinear `tf.image.resize`
    returns float32 for any input).
    """
    if None not in reference.shape[1:3] and tuple(reference.shape[1:3]) == tuple(
        x.shape[1:3]
    ):
        return x
    return ops.cast(resize_like(x, reference), x.dtype)


def unit_vectors(x):
    """`x` divided by its L2 norm over the last axis.

    Squared norms below `NORM_EPSILON` count as `NORM_EPSILON`, so a zero
    vector stays a zero vector (cosine 0 to everything) instead of 0 / 0.
    """
    squared_norm = ops.sum(ops.square(x), axis=-1, keepdims=True)
    return x * ops.rsqrt(ops.maximum(squared_norm, NORM_EPSILON))
