"""Intra-class feature variation distillation (IFVD).

The student regresses the teacher's intra-class feature variation map: each
pixel's cosine similarity to the mean feature (prototype) of its class.

Reference:
    Y. Wang, W. Zhou, T. Jiang, X. Bai, Y. Xu, "Intra-class Feature Variation
    Distillation for Semantic Segmentation", ECCV 2020.
"""

import keras
from keras import ops

from keras_pfs.losses.base import DistillationLoss
from keras_pfs.losses.utils import masked_image_mean, match_grid

# Squared norms below this are treated as this value when normalising, so a
# zero feature or prototype has cosine 0 instead of 0 / 0 = NaN.
_NORM_EPSILON = 1e-12


def _nearest_indices(size_in, size_out):
    """Index of the input cell whose centre is nearest each output cell's centre.

    Output cell i spans input cells [i * r, (i + 1) * r) with r = in / out, so
    its centre is input cell floor((i + 0.5) * r), in integer arithmetic. For
    a stride-8 feature map this takes the middle of each 8 x 8 block rather
    than its top-left corner, which PyTorch's legacy "nearest" (used by the
    official code) picks.
    """
    steps = 2 * ops.arange(size_out, dtype="int32") + 1
    return ops.floor_divide(steps * size_in, 2 * size_out)


def _unit(x):
    squared_norm = ops.sum(ops.square(x), axis=-1, keepdims=True)
    return x * ops.rsqrt(ops.maximum(squared_norm, _NORM_EPSILON))


def _variation_map(features, one_hot):
    """Cosine of each pixel (B, N, C) to its class prototype; 0 on void pixels.

    `one_hot` (B, N, K) is zero on void pixels, so they neither enter a
    prototype nor get one.
    """
    sums = ops.einsum("bnk,bnc->bkc", one_hot, features)
    counts = ops.sum(one_hot, axis=1)[..., None]
    prototypes = sums / ops.maximum(counts, 1.0)
    centres = ops.einsum("bnk,bkc->bnc", one_hot, prototypes)
    return ops.sum(_unit(features) * _unit(centres), axis=-1)


def intra_class_variation_loss(
    teacher_features, student_features, labels, num_classes, mask=None
):
    """IFVD: squared difference of the intra-class feature variation maps.

    For each network and image, the prototype of class k is the mean feature
    of the image's pixels labelled k; a pixel's variation value is the cosine
    similarity between its feature and its class's prototype. The loss of an
    image is the mean over its valid pixels of (M_teacher - M_student)^2.

    The labels are sampled to the teacher's feature grid by nearest neighbour
    (each feature cell takes the label at its centre). If the student's grid
    differs from the teacher's, the student's features are first resized
    bilinearly to the teacher's grid; channel widths may differ, as each
    network is only compared with itself. Pixels whose label is outside
    [0, num_classes) or whose mask is 0 are void: they join no prototype and
    contribute nothing; an image without valid pixels gets 0. The official
    code keeps void pixels in its mean with a zero error, which only rescales
    each image's loss by its fraction of labelled pixels.

    Features are computed in at least float32, as class prototypes sum over
    many pixels.

    Args:
        teacher_features: `(B, H, W, Ct)` tensor.
        student_features: `(B, h, w, Cs)` tensor.
        labels: `(B, H_label, W_label)` integer class ids.
        num_classes: number of classes K.
        mask: optional `(B, H_label, W_label)`, 1 on labelled pixels, 0 on
            void.

    Returns:
        `(B,)` tensor, the loss of each image.

    Example:

    >>> t = keras.random.normal((2, 8, 8, 64))
    >>> s = keras.random.normal((2, 8, 8, 16))
    >>> labels = keras.random.randint((2, 64, 64), 0, 19)
    >>> intra_class_variation_loss(t, s, labels, num_classes=19).shape
    (2,)
    """
    dtype = keras.backend.result_type(
        teacher_features.dtype, student_features.dtype, "float32"
    )
    teacher_features = ops.cast(teacher_features, dtype)
    student_features = ops.cast(match_grid(teacher_features, student_features), dtype)
    shape = ops.shape(teacher_features)
    label_shape = ops.shape(labels)
    rows = _nearest_indices(label_shape[1], shape[1])
    cols = _nearest_indices(label_shape[2], shape[2])

    def to_grid(x):
        return ops.take(ops.take(x, rows, axis=1), cols, axis=2)

    labels = to_grid(ops.cast(labels, "int32"))
    valid = ops.logical_and(labels >= 0, labels < num_classes)
    if mask is not None:
        valid = ops.logical_and(valid, to_grid(mask) > 0)
    # Void ids may lie outside [0, K); any class id will do, `valid` drops it.
    labels = ops.where(valid, labels, 0)
    valid = ops.cast(valid, dtype)
    one_hot = ops.one_hot(labels, num_classes, dtype=dtype) * valid[..., None]
    one_hot = ops.reshape(one_hot, (shape[0], -1, num_classes))
    flat_shape = (shape[0], -1, shape[-1])
    m_t = _variation_map(ops.reshape(teacher_features, flat_shape), one_hot)
    m_s = _variation_map(
        ops.reshape(student_features, (shape[0], -1, ops.shape(student_features)[-1])),
        one_hot,
    )
    squared_error = ops.reshape(ops.square(m_t - m_s), ops.shape(valid))
    return masked_image_mean(squared_error, valid)


@keras.saving.register_keras_serializable(package="keras_pfs")
class IntraClassVariationLoss(DistillationLoss):
    """`intra_class_variation_loss` between the teacher's and the student's
    features, with class prototypes from the labels and void pixels masked.

    Args:
        num_classes: number of classes K. `None` (the default) takes K from
            the teacher's logits.

    Example:

    >>> teacher = {"features": keras.random.normal((2, 4, 4, 8)),
    ...            "logits": keras.random.normal((2, 16, 16, 3))}
    >>> student = {"features": keras.random.normal((2, 4, 4, 4))}
    >>> labels = keras.random.randint((2, 16, 16), 0, 3)
    >>> loss = IntraClassVariationLoss()
    >>> loss.compute_loss(teacher, student, labels, keras.ops.ones((2, 16, 16))).shape
    (2,)
    """

    def __init__(self, num_classes=None):
        if num_classes is not None and num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}.")
        self.num_classes = num_classes

    def compute_loss(self, teacher_outputs, student_outputs, labels, mask):
        num_classes = self.num_classes or ops.shape(teacher_outputs["logits"])[-1]
        return intra_class_variation_loss(
            teacher_outputs["features"],
            student_outputs["features"],
            labels,
            num_classes,
            mask,
        )

    def get_config(self):
        return {"num_classes": self.num_classes}
