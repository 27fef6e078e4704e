"""How each distillation term's gradient relates to the cross-entropy's."""

import numpy as np
import tensorflow as tf
from keras import ops


def _flat(gradients, variables):
    # A term that does not reach a variable (e.g. a feature loss and the
    # classifier's kernel) has no gradient there: zero.
    return tf.concat(
        [
            tf.zeros([int(np.prod(v.shape))]) if g is None else tf.reshape(g, [-1])
            for g, v in zip(gradients, variables, strict=True)
        ],
        axis=0,
    )


def gradient_alignment(distiller, dataset, num_batches=8):
    """Cosine and relative size of each term's gradient against CE's.

    A logit term whose teacher has saturated on the training images (its
    soft labels equal the hard labels) only repeats the cross-entropy: its
    gradient then points the same way (cosine near 1). A term whose weighted
    gradient is a few percent of CE's barely moves the student. Both are
    measured on the student's trainable variables, with the student in
    training mode as in `train_step`, batch by batch (the figures are
    per-batch means). Also reported: the teacher's mean top-class
    probability and its agreement with the labels on labelled pixels.

    Reference:
        Y. Shan, "Distilling Pixel-Wise Feature Similarities for Semantic
        Segmentation", arXiv:1910.14226, 2019 (the terms compared here).

    Args:
        distiller: a `keras_pfs.Distiller` with a teacher.
        dataset: yields `(images, labels)` batches (e.g. training batches).
        num_batches: how many batches to average over.

    Returns:
        `{"terms": {name: {"cosine_with_ce": float, "weighted_norm_ratio":
        float}}, "teacher_confidence": float, "teacher_pixel_accuracy":
        float, "batches": int}`; the norm ratio is `|weight * g_term| /
        |ce_weight * g_ce|`.

    Example:

    >>> gradient_alignment(distiller, train_ds, num_batches=4)  # doctest: +SKIP
    """
    variables = distiller.student.trainable_variables
    names = list(distiller.distillation_losses)
    cosines = {name: [] for name in names}
    ratios = {name: [] for name in names}
    confidence, accuracy, batches = [], [], 0
    weights = {"ce": distiller.ce_weight, **distiller.loss_weights}
    for images, labels in dataset.take(num_batches):
        with tf.GradientTape(persistent=True) as tape:
            terms, teacher_logits = distiller.loss_terms(images, labels, training=True)
            means = {name: weights[name] * ops.mean(terms[name]) for name in weights}
        flat = {
            name: _flat(tape.gradient(mean, variables), variables)
            for name, mean in means.items()
        }
        del tape
        ce_norm = tf.norm(flat["ce"])
        for name in names:
            norm = tf.norm(flat[name])
            cosines[name].append(
                float(tf.tensordot(flat[name], flat["ce"], 1) / (norm * ce_norm))
            )
            ratios[name].append(float(norm / ce_norm))
        probabilities = tf.nn.softmax(teacher_logits)
        valid = labels != distiller.ignore_class
        confidence.append(
            float(
                tf.reduce_mean(tf.boolean_mask(tf.reduce_max(probabilities, -1), valid))
            )
        )
        hits = tf.argmax(probabilities, -1, output_type=labels.dtype) == labels
        accuracy.append(
            float(tf.reduce_mean(tf.cast(tf.boolean_mask(hits, valid), "float32")))
        )
        batches += 1
    return {
        "terms": {
            name: {
                "cosine_with_ce": float(np.mean(cosines[name])),
                "weighted_norm_ratio": float(np.mean(ratios[name])),
            }
            for name in names
        },
        "teacher_confidence": float(np.mean(confidence)),
        "teacher_pixel_accuracy": float(np.mean(accuracy)),
        "batches": batches,
    }
