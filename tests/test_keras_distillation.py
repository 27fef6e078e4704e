"""Our losses inside the stock keras.distillation.Distiller."""

import keras
import numpy as np
import pytest

from keras_pfs import Distiller
from keras_pfs.data import synthetic_dataset
from keras_pfs.interop import KerasDistillationLoss
from keras_pfs.models import build_segmenter

NUM_CLASSES = 3


@pytest.mark.parametrize("name", ["pfs", "kd", "imitation"])
def test_stock_distiller_trains_with_our_loss_and_matches_ours(name):
    # Both students start from the same weights.
    keras.utils.set_random_seed(0)
    teacher = build_segmenter("tiny_mobile", NUM_CLASSES)
    student = build_segmenter("tiny_mobile", NUM_CLASSES)
    ours_student = keras.models.clone_model(student)
    ours_student.set_weights(student.get_weights())
    # Synthetic labels have a void band; the stock Distiller counts every
    # pixel, so the comparison uses labels without void.
    images, labels = next(
        iter(
            synthetic_dataset(
                "val",
                num_images=2,
                image_size=(32, 32),
                num_classes=NUM_CLASSES,
                batch_size=2,
            )
        )
    )
    labels = np.where(labels.numpy() == 255, 0, labels.numpy())

    stock = keras.distillation.Distiller(
        teacher=teacher,
        student=student,
        distillation_losses=[KerasDistillationLoss(name)],
        student_loss_weight=0.0,
    )
    stock.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    ours = Distiller(ours_student, teacher, distillation_losses=[name], ce_weight=0.0)
    ours.compile(optimizer="sgd")

    stock_value = stock.evaluate(images, labels, verbose=0, return_dict=True)
    ours_value = ours.evaluate(images, labels, verbose=0, return_dict=True)
    np.testing.assert_allclose(
        stock_value["distillation_loss"], ours_value[name], rtol=1e-5, atol=1e-7
    )

    student_before, teacher_before = student.get_weights(), teacher.get_weights()
    stock.fit(images, labels, epochs=1, batch_size=2, verbose=0)
    changed = [
        not np.array_equal(a, b)
        for a, b in zip(student_before, student.get_weights(), strict=True)
    ]
    assert any(changed)
    for a, b in zip(teacher_before, teacher.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_losses_that_need_labels_are_refused():
    with pytest.raises(ValueError, match="needs the labels"):
        KerasDistillationLoss("ifvd", num_classes=NUM_CLASSES)


def test_adapter_round_trips_get_config():
    loss = KerasDistillationLoss("kd", temperature=2.0)
    copy = KerasDistillationLoss(**loss.get_config())
    assert copy.loss.temperature == 2.0
