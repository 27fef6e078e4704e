"""Pixel-wise feature similarity (PFS) distillation loss.

Reference:
    Y. Shan, "Distilling Pixel-Wise Feature Similarities for Semantic
    Segmentation", arXiv:1910.14226, 2019.
"""

import keras
from keras import ops

from keras_pfs.losses.base import DistillationLoss
from keras_pfs.losses.utils import match_grid

# Squared norms below this are treated as this value when normalising, so a
# zero feature vector becomes a zero unit vector (similarity 0 to every pixel)
# instead of 0 / 0 = NaN.
_NORM_EPSILON = 1e-12


def unit_pixels(features):
    """Flattens (B, H, W, C) to (B, N, C) with every pixel L2-normalised."""
    shape = ops.shape(features)
    flat = ops.reshape(features, (shape[0], -1, shape[-1]))
    squared_norm = ops.sum(ops.square(flat), axis=-1, keepdims=True)
    return flat * ops.rsqrt(ops.maximum(squared_norm, _NORM_EPSILON))


def pixel_similarity_loss(teacher_features, student_features, method="gram"):
    """PFS loss: squared difference of pixel-to-pixel cosine similarities.

    Each pixel's feature vector is L2-normalised over channels; for teacher
    and student the N x N matrix of cosine similarities between all pixel
    pairs (N = H * W) is formed, and the loss of an image is the mean over all
    (i, j) of (S_teacher - S_student)^2. Channel widths may differ, so no
    adapter is needed. If the student's grid differs from the teacher's, the
    student's features are first resized bilinearly to the teacher's grid.

    `method="gram"` uses the exact identity

        sum_ij (A A^T - B B^T)_ij^2 = |A^T A|^2 + |B^T B|^2 - 2 |A^T B|^2

    (Frobenius norms; A, B the N x C unit-pixel matrices), which costs
    O(N C^2) time and O(C^2) memory instead of O(N^2 C) and O(N^2), so it runs
    on grids where the N x N matrices do not fit in memory.
    `method="dense"` builds the matrices and is kept as the reference.

    Args:
        teacher_features: `(B, H, W, Ct)` tensor.
        student_features: `(B, h, w, Cs)` tensor.
        method: `"gram"` (default) or `"dense"`.

    Returns:
        `(B,)` tensor, the loss of each image.

    Example:

    >>> t = keras.random.normal((2, 8, 8, 64))
    >>> s = keras.random.normal((2, 8, 8, 16))
    >>> pixel_similarity_loss(t, s).shape
    (2,)
    """
    if method not in ("gram", "dense"):
        raise ValueError(
            f"pixel_similarity_loss: method must be 'gram' or 'dense', got {method!r}."
        )
    student_features = match_grid(teacher_features, student_features)
    a = unit_pixels(teacher_features)
    b = unit_pixels(ops.cast(student_features, a.dtype))
    num_pixels = ops.cast(ops.shape(a)[1], a.dtype)
    if method == "dense":
        s_t = ops.matmul(a, ops.transpose(a, (0, 2, 1)))
        s_s = ops.matmul(b, ops.transpose(b, (0, 2, 1)))
        return ops.mean(ops.square(s_t - s_s), axis=(1, 2))

    def squared_frobenius(x, y):
        return ops.sum(ops.square(ops.matmul(ops.transpose(x, (0, 2, 1)), y)), (1, 2))

    total = (
        squared_frobenius(a, a) + squared_frobenius(b, b) - 2 * squared_frobenius(a, b)
    )
    # Rounding can push an exact zero slightly negative when S_s == S_t.
    return ops.maximum(total, 0.0) / ops.square(num_pixels)


@keras.saving.register_keras_serializable(package="keras_pfs")
class PixelSimilarityLoss(DistillationLoss):
    """`pixel_similarity_loss` between the teacher's and the student's
    features. Like the paper's loss it uses no labels: every pixel counts.

    Args:
        method: `"gram"` (default, exact and memory-light) or `"dense"`.

    Example:

    >>> teacher = {"features": keras.random.normal((2, 4, 4, 8))}
    >>> student = {"features": keras.random.normal((2, 4, 4, 3))}
    >>> labels = keras.ops.zeros((2, 32, 32), "int32")
    >>> mask = keras.ops.ones((2, 32, 32))
    >>> PixelSimilarityLoss().compute_loss(teacher, student, labels, mask).shape
    (2,)
    """

    def __init__(self, method="gram"):
        self.method = method

    def compute_loss(self, teacher_outputs, student_outputs, labels, mask):
        return pixel_similarity_loss(
            teacher_outputs["features"],
            student_outputs["features"],
            method=self.method,
        )

    def get_config(self):
        return {"method": self.method}
