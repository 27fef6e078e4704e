"""SKD pair-wise similarity distillation between max-pooled feature nodes.

Reference:
    Y. Liu, K. Chen, C. Liu, Z. Qin, Z. Luo, J. Wang, "Structured Knowledge
    Distillation for Semantic Segmentation", CVPR 2019.
"""

import keras
from keras import ops

from keras_pfs.losses.base import DistillationLoss
from keras_pfs.losses.pixel_similarity import pixel_similarity_loss
from keras_pfs.losses.utils import match_grid


def _window(size, pool_scale):
    """The official `int(scale * size)` window, at least 1 pixel; float64 as
    Python's float, so run-time sizes give the same windows as static ones."""
    if isinstance(size, int):
        return max(int(size * pool_scale), 1)
    window = ops.cast(ops.cast(size, "float64") * pool_scale, "int32")
    return ops.maximum(window, 1)


def _pool_nodes(features, pool_scale):
    """Max-pools (B, H, W, C) into SKD's nodes, as the official code does.

    The official code pools with `nn.MaxPool2d(kernel_size=k, stride=k,
    ceil_mode=True)` where `k = int(scale * size)` per axis, so the node grid
    is `ceil(size / k)` and the last row and column of nodes may cover a
    partial patch. The map is padded at the end with -inf, which never wins a
    max because every window holds at least one real pixel, and each window
    is reduced by a reshape. Sizes known only at run time (evaluation at
    native image size) take the same arithmetic on tensors.
    """
    _, height, width, channels = ops.shape(features)
    kernel_h = _window(height, pool_scale)
    kernel_w = _window(width, pool_scale)
    nodes_h = -(-height // kernel_h)
    nodes_w = -(-width // kernel_w)
    padded = ops.pad(
        features,
        [
            [0, 0],
            [0, nodes_h * kernel_h - height],
            [0, nodes_w * kernel_w - width],
            [0, 0],
        ],
        constant_values=float("-inf"),
    )
    windows = ops.reshape(padded, (-1, nodes_h, kernel_h, nodes_w, kernel_w, channels))
    return ops.max(windows, axis=(2, 4))


def pairwise_similarity_loss(teacher_features, student_features, pool_scale=0.5):
    """SKD pair-wise loss: squared difference of node-to-node cosine affinities.

    Both feature maps are max-pooled into nodes, each node covering a patch of
    `int(pool_scale * H) x int(pool_scale * W)` pixels (the node grid is the
    ceiling of H and W over the patch size, as in the official code's
    `ceil_mode=True`). Each node is L2-normalised over channels, the N x N
    cosine-affinity matrices of teacher and student are formed, and the loss
    of an image is the mean over all (i, j) of (a_t_ij - a_s_ij)^2; the
    official code's division by N^2 and by the batch size is this mean
    averaged over the batch. If the student's grid differs from the teacher's,
    the student's features are first resized bilinearly to the teacher's grid,
    so both are pooled into the same nodes. Channel widths may differ.

    Unlike the official code, which detaches the norms, gradients flow through
    the normalisation as well, following the definition of the affinity.

    Without pooling (a patch of one pixel) this is the PFS loss, which is
    reused for the affinities: its dense form when the nodes are fewer than
    the channels (the usual case, coarse grids of wide features), else its
    exact memory-light Gram form.

    Args:
        teacher_features: `(B, H, W, Ct)` tensor; H and W may be known only
            at run time, Ct must be static.
        student_features: `(B, h, w, Cs)` tensor.
        pool_scale: patch side as a fraction of the feature map's side,
            in (0, 1].

    Returns:
        `(B,)` tensor, the loss of each image.

    Example:

    >>> t = keras.random.normal((2, 16, 16, 64))
    >>> s = keras.random.normal((2, 8, 8, 16))
    >>> pairwise_similarity_loss(t, s, pool_scale=0.25).shape
    (2,)
    """
    if not 0 < pool_scale <= 1:
        raise ValueError(f"pool_scale must be in (0, 1], got {pool_scale}.")
    student_features = match_grid(teacher_features, student_features)
    teacher_nodes = _pool_nodes(teacher_features, pool_scale)
    student_nodes = _pool_nodes(student_features, pool_scale)
    _, nodes_h, nodes_w, teacher_channels = ops.shape(teacher_nodes)
    widest = max(teacher_channels, ops.shape(student_nodes)[-1])
    # Both forms are exact; the choice is only cost. An unknown node count
    # (run-time image size) takes the Gram form, which never builds N x N.
    static = isinstance(nodes_h, int) and isinstance(nodes_w, int)
    method = "dense" if static and nodes_h * nodes_w <= widest else "gram"
    return pixel_similarity_loss(teacher_nodes, student_nodes, method=method)


@keras.saving.register_keras_serializable(package="keras_pfs")
class PairwiseSimilarityLoss(DistillationLoss):
    """`pairwise_similarity_loss` between the teacher's and the student's
    features. Like the official SKD term it uses no labels or mask.

    Args:
        pool_scale: patch side as a fraction of the feature map's side.
            Defaults to 0.5, the official code's default: 2 x 2 nodes on an
            even grid, 3 x 3 on an odd one (e.g. 65 x 65 features of a 513
            crop at output stride 8).

    Example:

    >>> teacher = {"features": keras.random.normal((2, 8, 8, 32))}
    >>> student = {"features": keras.random.normal((2, 8, 8, 8))}
    >>> labels = keras.ops.zeros((2, 64, 64), "int32")
    >>> mask = keras.ops.ones((2, 64, 64))
    >>> loss = PairwiseSimilarityLoss(pool_scale=0.25)
    >>> loss.compute_loss(teacher, student, labels, mask).shape
    (2,)
    """

    def __init__(self, pool_scale=0.5):
        if not 0 < pool_scale <= 1:
            raise ValueError(f"pool_scale must be in (0, 1], got {pool_scale}.")
        self.pool_scale = pool_scale

    def compute_loss(self, teacher_outputs, student_outputs, labels, mask):
        return pairwise_similarity_loss(
            teacher_outputs["features"],
            student_outputs["features"],
            pool_scale=self.pool_scale,
        )

    def get_config(self):
        return {"pool_scale": self.pool_scale}
