"""gradient_alignment: a saturated teacher's KD term repeats the CE term."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_pfs import Distiller
from keras_pfs.metrics import gradient_alignment
from keras_pfs.models import build_segmenter

NUM_CLASSES = 3


def one_hot_teacher(sharpness, shift):
    """Reads each pixel's class from the image's red channel (id * 50), as a
    teacher that has fitted its training images (`shift=0`) or one that
    names another class everywhere."""
    images = keras.Input((None, None, 3))
    logits = keras.layers.Lambda(
        lambda x: (
            sharpness
            * (
                tf.one_hot(
                    (tf.cast(tf.round(x[..., 0] / 50), "int32") + shift) % NUM_CLASSES,
                    NUM_CLASSES,
                )
                - 0.5
            )
        ),
        output_shape=(None, None, NUM_CLASSES),
    )(images)
    features = keras.layers.Conv2D(4, 3, strides=4, padding="same")(images)
    return keras.Model(images, {"logits": logits, "features": features})


def batches():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, NUM_CLASSES, (2, 3, 16, 16)).astype("int32")
    images = np.repeat(50.0 * labels[..., None], 3, axis=-1).astype("float32")
    images += rng.uniform(0, 10, images.shape).astype("float32")
    return tf.data.Dataset.from_tensor_slices((images, labels))


def alignment(sharpness, shift=0):
    keras.utils.set_random_seed(0)
    distiller = Distiller(
        student=build_segmenter("tiny_mobile", NUM_CLASSES),
        teacher=one_hot_teacher(sharpness, shift),
        distillation_losses={"kd": "kd", "pfs": "pfs"},
        loss_weights={"kd": 2.0, "pfs": 1.0},
    )
    return gradient_alignment(distiller, batches(), num_batches=2)


def test_a_saturated_teachers_kd_gradient_is_the_ce_gradient():
    report = alignment(sharpness=40.0)
    assert report["batches"] == 2
    assert report["teacher_confidence"] == pytest.approx(1.0, abs=1e-6)
    assert report["teacher_pixel_accuracy"] == 1.0
    kd = report["terms"]["kd"]
    assert kd["cosine_with_ce"] == pytest.approx(1.0, abs=1e-4)
    assert kd["weighted_norm_ratio"] == pytest.approx(2.0, rel=1e-3)  # its weight
    assert abs(report["terms"]["pfs"]["cosine_with_ce"]) < 0.9


def test_a_teacher_that_disagrees_with_the_labels_pulls_elsewhere():
    report = alignment(sharpness=4.0, shift=1)
    assert report["teacher_pixel_accuracy"] == 0.0
    # Not opposite CE: both terms push the random student off its own
    # favourite class; 0.85 measured, 1.0 for the fitted teacher above.
    assert report["terms"]["kd"]["cosine_with_ce"] < 0.95
