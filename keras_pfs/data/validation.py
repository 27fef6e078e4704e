"""Label validation shared by every reader.

A label outside `[0, num_classes)` that is not the ignore class would silently
index past the logits in the loss or the confusion matrix, so every reader
checks its labels and fails with one line that names where they came from.
"""

import numpy as np
import tensorflow as tf

# Enough offending values to recognise the problem (e.g. a wrong ignore id or
# an off-by-one in the class count) without flooding the message.
_MAX_SHOWN = 10


def _message_parts(values, num_classes, ignore_class, source):
    # A list rather than one string, so that the graph version can splice in
    # string tensors with tf.strings.join and both errors read the same.
    return [
        "Label values ",
        values,
        " in ",
        source,
        f" are outside [0, {num_classes}) and are not the ignore class {ignore_class}.",
    ]


def check_labels(labels, num_classes, ignore_class, source):
    """Raises if any label is neither a class id nor the ignore class.

    Args:
        labels: array-like of integer labels, any shape.
        num_classes: number of classes; valid ids are `0..num_classes - 1`.
        ignore_class: the void id, always accepted.
        source: what the labels came from, e.g. a file path; put in the error.

    Raises:
        ValueError: one line naming `source` and the offending values.

    Example:
    ```python
    check_labels(np.array([0, 1, 255]), 2, 255, source="labels.npy")
    ```
    """
    labels = np.asarray(labels)
    bad = (labels < 0) | (labels >= num_classes)
    bad &= labels != ignore_class
    if bad.any():
        values = np.unique(labels[bad])
        shown = ", ".join(str(v) for v in values[:_MAX_SHOWN])
        if len(values) > _MAX_SHOWN:
            shown += f" (and {len(values) - _MAX_SHOWN} more)"
        raise ValueError(
            "".join(_message_parts(shown, num_classes, ignore_class, source))
        )


def assert_labels(labels, num_classes, ignore_class, source):
    """Graph version of `check_labels` for use inside `tf.data` pipelines.

    Args:
        labels: integer tensor, any shape.
        num_classes: number of classes; valid ids are `0..num_classes - 1`.
        ignore_class: the void id, always accepted.
        source: string or string tensor (e.g. the file path), put in the error.

    Returns:
        `labels`, with the check as a control dependency, so the check runs
        whenever the labels are used.

    Raises:
        tf.errors.InvalidArgumentError: when the labels are consumed, with the
            message of `check_labels` after TF's "assertion failed:" prefix.

    Example:
    ```python
    dataset = dataset.map(
        lambda path, label: (path, assert_labels(label, 11, 11, path))
    )
    ```
    """
    bad = tf.logical_or(labels < 0, labels >= num_classes)
    bad = tf.logical_and(bad, tf.not_equal(labels, ignore_class))
    values = tf.sort(tf.unique(tf.boolean_mask(labels, bad))[0])
    hidden = tf.size(values) - _MAX_SHOWN
    shown = tf.strings.join(
        [
            tf.strings.reduce_join(
                tf.strings.as_string(values[:_MAX_SHOWN]), separator=", "
            ),
            tf.where(
                hidden > 0,
                tf.strings.join([" (and ", tf.strings.as_string(hidden), " more)"]),
                "",
            ),
        ]
    )
    message = tf.strings.join(_message_parts(shown, num_classes, ignore_class, source))
    check = tf.debugging.Assert(tf.logical_not(tf.reduce_any(bad)), [message])
    with tf.control_dependencies([check]):
        return tf.identity(labels)
