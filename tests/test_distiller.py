import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_pfs import Distiller, losses
from keras_pfs.models import build_segmenter
from tests.run_script import run_json_script

NUM_CLASSES = 4


def tiny_data(num=8, size=(32, 40), seed=0):
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 255, (num, *size, 3)).astype("float32")
    # A learnable target: class from the brightest channel, a void border.
    labels = np.argmax(images[..., :3], axis=-1).astype("int32")
    labels[:, :2] = 255
    return images, labels


@pytest.fixture(scope="module")
def models():
    keras.utils.set_random_seed(1)
    return build_segmenter("tiny_mobile", NUM_CLASSES), build_segmenter(
        "tiny_resnet", NUM_CLASSES
    )


class TracedDistiller(Distiller):
    """Counts the traces of its training step (Python runs once per trace)."""

    traces = 0

    def train_step(self, data):
        TracedDistiller.traces += 1
        return super().train_step(data)


@pytest.fixture(scope="module")
def trained(models):
    student, teacher = models
    teacher_before = [w.copy() for w in teacher.get_weights()]
    distiller = TracedDistiller(student=student, teacher=teacher)
    distiller.compile(optimizer=keras.optimizers.Adam(1e-2))
    images, labels = tiny_data()
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(4)
    history = distiller.fit(
        dataset, epochs=12, validation_data=dataset, verbose=0
    ).history
    return distiller, history, teacher_before


def test_fit_lowers_the_loss_and_logs_every_term(trained):
    _, history, _ = trained
    for key in ["loss", "ce", "pfs", "imitation", "mean_iou"]:
        assert key in history and f"val_{key}" in history
    assert history["loss"][-1] < 0.7 * history["loss"][0]
    assert history["ce"][-1] < history["ce"][0]


def test_fit_traces_the_training_step_once(trained):
    # The optimizer is built before the first trace (Distiller.fit), so that
    # tf.function need not trace the step again after creating its slots.
    assert TracedDistiller.traces == 1


def test_teacher_never_changes(trained, models):
    _, _, teacher_before = trained
    for before, after in zip(teacher_before, models[1].get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)


def test_call_returns_student_logits(trained):
    distiller, _, _ = trained
    images, _ = tiny_data(2)
    np.testing.assert_allclose(
        distiller(images), distiller.student(images)["logits"], atol=1e-6
    )


def test_student_saves_and_reloads_with_identical_outputs(trained, tmp_path):
    distiller, _, _ = trained
    path = str(tmp_path / "student.keras")
    distiller.student.save(path)
    reloaded = keras.saving.load_model(path)
    images, _ = tiny_data(2, size=(45, 61), seed=3)
    expected = distiller.student(images)
    actual = reloaded(images)
    for key in ("logits", "features"):
        np.testing.assert_array_equal(actual[key], expected[key])


def test_every_loss_trains_and_evaluates_on_images_of_unknown_size(models):
    # Validation at native size and uncropped training (e.g. VOC with batch
    # 1) give batches whose height and width are unknown when traced. All
    # registered losses share one Distiller: one trace instead of one each.
    student, teacher = models
    images, labels = tiny_data(num=4)

    def batches():
        for size in ((32, 40), (24, 32)):
            yield images[:2, : size[0], : size[1]], labels[:2, : size[0], : size[1]]

    dataset = tf.data.Dataset.from_generator(
        batches,
        output_signature=(
            tf.TensorSpec((None, None, None, 3), tf.float32),
            tf.TensorSpec((None, None, None), tf.int32),
        ),
    )
    distiller = Distiller(
        student=student, teacher=teacher, distillation_losses=losses.names()
    )
    distiller.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = distiller.fit(dataset, validation_data=dataset, verbose=0).history
    for name in ["loss", *losses.names()]:
        assert np.isfinite(history[name][0]), name
        assert np.isfinite(history[f"val_{name}"][0]), name


def test_unequal_class_counts_are_rejected(models):
    student, _ = models
    teacher = build_segmenter("tiny_mobile", NUM_CLASSES + 1)
    with pytest.raises(ValueError, match="5 classes but student .* predicts 4"):
        Distiller(student=student, teacher=teacher)


def test_a_model_without_features_is_rejected(models):
    student, teacher = models
    logits_only = keras.Model(student.inputs, student.outputs[0])
    with pytest.raises(ValueError, match="must return a dict"):
        Distiller(student=logits_only, teacher=teacher)
    no_features = keras.Model(student.inputs, {"logits": student.output["logits"]})
    with pytest.raises(ValueError, match="no 'features' output"):
        Distiller(student=student, teacher=no_features)


def test_unknown_losses_and_weights_are_rejected(models):
    student, teacher = models
    with pytest.raises(ValueError, match="Unknown distillation loss 'pfz'"):
        Distiller(student=student, teacher=teacher, distillation_losses=["pfz"])
    with pytest.raises(ValueError, match=r"loss_weights names \['kd'\]"):
        Distiller(student=student, teacher=teacher, loss_weights={"kd": 1.0})


@pytest.mark.slow
def test_one_step_with_two_replicas_equals_one_replica():
    report = run_json_script("distributed_step.py")
    assert report["replicas"] == 2
    assert report["student_change"] > 1e-3  # the step really moved the student
    assert report["student_vs_mirrored"] < 1e-5
    assert report["teacher_change"] == 0.0


def test_a_reloaded_teacher_is_frozen_throughout(models, tmp_path):
    student, teacher = models
    teacher.trainable = False
    teacher.save(tmp_path / "teacher.keras")
    reloaded = keras.saving.load_model(tmp_path / "teacher.keras")
    distiller = Distiller(student=student, teacher=reloaded)
    student_ids = {id(v) for v in student.trainable_variables}
    assert {id(v) for v in distiller.trainable_variables} == student_ids
