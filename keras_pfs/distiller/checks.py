"""What the Distiller accepts: two-output segmenters and class-id labels."""

import keras
import tensorflow as tf
from keras import ops

_REQUIRED_OUTPUTS = ("logits", "features")


def output_spec(model, role):
    """The model's output structure, checked to be the two-output dict.

    Args:
        model: a segmenter.
        role: `"student"` or `"teacher"`, for the error message.

    Returns:
        The model's outputs, `{"logits": ..., "features": ...}` (symbolic).

    Raises:
        ValueError: naming the model and the missing output.
    """
    try:
        spec = model.output
    except (AttributeError, ValueError):
        spec = model.compute_output_spec(keras.KerasTensor((1, 64, 64, 3)))
    if not isinstance(spec, dict):
        raise ValueError(
            f"Distiller: the {role} model {model.name!r} must return a dict with "
            f"keys {list(_REQUIRED_OUTPUTS)}, got {type(spec).__name__}; "
            "use keras_pfs.models.wrap_segmenter."
        )
    for key in _REQUIRED_OUTPUTS:
        if key not in spec:
            raise ValueError(
                f"Distiller: the {role} model {model.name!r} has no {key!r} output "
                f"(outputs: {sorted(spec)}); use keras_pfs.models.wrap_segmenter."
            )
    return spec


def check_segmenters(student, teacher):
    """Checks both models' outputs and that they predict the same classes.

    Args:
        student: the student segmenter.
        teacher: the teacher segmenter, or `None`.

    Returns:
        The number of classes K the student predicts.

    Raises:
        ValueError: naming the model without the two outputs, or both models
            when their numbers of classes differ.
    """
    num_classes = output_spec(student, "student")["logits"].shape[-1]
    if teacher is not None:
        teacher_classes = output_spec(teacher, "teacher")["logits"].shape[-1]
        if teacher_classes != num_classes:
            raise ValueError(
                f"Distiller: teacher {teacher.name!r} predicts {teacher_classes} "
                f"classes but student {student.name!r} predicts {num_classes}; "
                "they must agree."
            )
    return num_classes


def class_ids(labels, num_classes, ignore_class):
    """int32 `(B, H, W)` labels, checked.

    Float labels are refused, not truncated (2.7 -> 2); `(B, H, W, 1)`
    labels (as Keras's sparse losses take them) lose their last axis; values
    that are neither a class id nor `ignore_class` stop the step with one
    line naming them.
    """
    labels = ops.convert_to_tensor(labels)
    if labels.shape.rank is None:
        # fit() retraces with labels of unknown rank once it has seen both
        # (B, H, W) and (B, H, W, 1) batches.
        shape = tf.shape(labels)
        labels = tf.reshape(labels, [shape[0], shape[1], shape[2]])
    elif len(labels.shape) == 4 and labels.shape[-1] == 1:
        labels = labels[..., 0]
    dtype = keras.backend.standardize_dtype(labels.dtype)
    if "int" not in dtype:
        raise ValueError(
            f"Distiller: labels must be integer class ids, got dtype {dtype} "
            f"(shape {tuple(labels.shape)}); cast them to int32 if they hold "
            "whole numbers."
        )
    labels = ops.cast(labels, "int32")
    valid = (labels == ignore_class) | ((labels >= 0) & (labels < num_classes))
    # Without this check the cross-entropy fails with TF's own message and
    # every label value of the batch; here only the range of the bad ones
    # is named. XLA drops the assertion (it compiles no Assert op).
    check = tf.debugging.Assert(
        tf.reduce_all(valid),
        [
            "Distiller: label values",
            tf.reduce_min(tf.where(valid, tf.int32.max, labels)),
            "to",
            tf.reduce_max(tf.where(valid, tf.int32.min, labels)),
            f"are neither class ids 0..{num_classes - 1} nor "
            f"ignore_class={ignore_class}; pass the void id of the labels as "
            "ignore_class.",
        ],
    )
    with tf.control_dependencies([check]):
        return tf.identity(labels)
