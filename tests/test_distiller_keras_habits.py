"""The Distiller under a Keras user's habits: sparse-loss label shapes,
compile and fit in the usual order, ModelCheckpoint (issue 25, points 4, 5
and 7)."""

import os
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_pfs import Distiller
from keras_pfs.callbacks import StudentCheckpoint
from keras_pfs.models import build_segmenter

NUM_CLASSES = 3


def _arrays():
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    labels = rng.integers(0, NUM_CLASSES, (4, 32, 32, 1)).astype("int32")
    labels[:, :4] = 255
    return images, labels


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Two epochs of fit() on (B, H, W, 1) labels with checkpoint callbacks;
    the Distiller, its folder and the warnings fit() gave."""
    folder = str(tmp_path_factory.mktemp("checkpoints"))
    keras.utils.set_random_seed(0)
    distiller = Distiller(
        build_segmenter("tiny_mobile", NUM_CLASSES),
        build_segmenter("tiny_mobile", NUM_CLASSES),
    )
    distiller.compile(optimizer="adam")
    data = tf.data.Dataset.from_tensor_slices(_arrays()).batch(2)
    callbacks = [
        StudentCheckpoint(os.path.join(folder, "student_{epoch}.keras")),
        StudentCheckpoint(
            os.path.join(folder, "best.keras"),
            monitor="val_mean_iou",
            mode="max",
            save_best_only=True,
        ),
        keras.callbacks.ModelCheckpoint(os.path.join(folder, "distiller.keras")),
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        distiller.fit(
            data, validation_data=data, epochs=2, callbacks=callbacks, verbose=0
        )
    return distiller, folder, [str(w.message) for w in caught]


def test_labels_with_a_trailing_axis_train_and_score_as_without(run):
    # Point 4: (B, H, W, 1) labels, as SparseCategoricalCrossentropy takes
    # them, failed in the graph with incompatible shapes.
    distiller, _, _ = run
    history = distiller.history.history
    assert all(np.isfinite(history["loss"])) and len(history["loss"]) == 2
    images, labels = _arrays()
    with_axis, _ = distiller.loss_terms(images, labels)
    without, _ = distiller.loss_terms(images, labels[..., 0])
    for name, values in without.items():
        np.testing.assert_array_equal(with_axis[name], values, err_msg=name)


def test_labels_out_of_range_stop_with_one_line_naming_them(run):
    # Point 4: CamVid's void 11 with the default ignore_class=255 gave TF's
    # error followed by every label value of the batch.
    distiller, _, _ = run
    images, labels = _arrays()
    labels[0, 5, :3] = 11
    labels[1, 6, 0] = 12
    with pytest.raises(tf.errors.InvalidArgumentError) as error:
        distiller.evaluate(images, labels, batch_size=4, verbose=0)
    message = str(error.value)
    line = next(line for line in message.splitlines() if "assertion failed" in line)
    assert line == (
        "assertion failed: [Distiller: label values] [11] [to] [12] [are neither "
        "class ids 0..2 nor ignore_class=255; pass the void id of the labels as "
        "ignore_class.]"
    )
    assert "Label values" not in message  # TF's dump of the batch's labels


def test_fit_before_compile_and_ignored_compile_arguments_are_refused(run):
    # Point 5: fit() before compile() raised AttributeError, and compile()
    # accepted a loss it then ignored.
    trained, _, _ = run
    distiller = Distiller(trained.student, trained.teacher)
    images, labels = _arrays()
    with pytest.raises(ValueError, match=r"call compile\(optimizer=...\) before fit"):
        distiller.fit(images, labels, verbose=0)
    with pytest.raises(ValueError, match="loss would be ignored"):
        distiller.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="loss_weights, metrics would be ignored"):
        distiller.compile(optimizer="adam", metrics=["accuracy"], loss_weights=[1])


def test_checkpoints_of_a_plain_fit_reload_cleanly(run):
    # Point 7: ModelCheckpoint saved teacher and student with a "not yet
    # built" warning, and the reloaded Distiller lost its optimizer state.
    distiller, folder, fit_warnings = run
    assert not [m for m in fit_warnings if "not yet been built" in m], fit_warnings
    images, _ = _arrays()
    expected = distiller.student(images)["logits"]
    student = keras.saving.load_model(os.path.join(folder, "student_2.keras"))
    np.testing.assert_allclose(student(images)["logits"], expected, atol=1e-5)
    for name in ("student_1.keras", "best.keras"):
        assert isinstance(
            keras.saving.load_model(os.path.join(folder, name)).output, dict
        )
    # The student alone is a fraction of the Distiller's checkpoint.
    sizes = {
        name: os.path.getsize(os.path.join(folder, name))
        for name in ("student_2.keras", "distiller.keras")
    }
    assert 2 * sizes["student_2.keras"] < sizes["distiller.keras"], sizes

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reloaded = keras.saving.load_model(os.path.join(folder, "distiller.keras"))
    assert not [w for w in caught if "Skipping variable loading" in str(w.message)]
    assert isinstance(reloaded, Distiller)
    np.testing.assert_allclose(reloaded.student(images)["logits"], expected, atol=1e-5)
    for saved, loaded in zip(
        distiller.optimizer.variables, reloaded.optimizer.variables, strict=True
    ):
        np.testing.assert_array_equal(saved.numpy(), loaded.numpy())


def test_student_checkpoint_names_what_it_needs():
    with pytest.raises(ValueError, match="checkpoints a keras_pfs.Distiller"):
        StudentCheckpoint("model.keras").set_model(keras.Sequential(name="plain"))
