import time

import numpy as np
import pytest
import tensorflow as tf

from keras_pfs.data import (
    SHAPES,
    Augmentation,
    check_labels,
    make_synthetic_arrays,
    synthetic_dataset,
)


def test_same_seed_gives_identical_arrays():
    first = make_synthetic_arrays(6, image_size=(32, 40), seed=3)
    second = make_synthetic_arrays(6, image_size=(32, 40), seed=3)
    other = make_synthetic_arrays(6, image_size=(32, 40), seed=4)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.array_equal(first[0], other[0])


def test_image_depends_only_on_seed_and_index():
    images, labels = make_synthetic_arrays(10, seed=1)
    prefix_images, prefix_labels = make_synthetic_arrays(4, seed=1)
    np.testing.assert_array_equal(images[:4], prefix_images)
    np.testing.assert_array_equal(labels[:4], prefix_labels)


def test_shapes_dtypes_and_label_range():
    images, labels = make_synthetic_arrays(
        20, image_size=(48, 64), num_classes=8, seed=0, ignore_class=200
    )
    assert images.shape == (20, 48, 64, 3) and images.dtype == np.uint8
    assert labels.shape == (20, 48, 64) and labels.dtype == np.uint8
    assert set(np.unique(labels)) <= set(range(8)) | {200}
    check_labels(labels, 8, 200, source="synthetic arrays")


def test_every_class_and_the_void_band_occur():
    _, labels = make_synthetic_arrays(64, num_classes=len(SHAPES) + 1, seed=0)
    assert set(np.unique(labels)) == set(range(len(SHAPES) + 1)) | {255}


def test_void_band_separates_different_classes():
    _, labels = make_synthetic_arrays(32, seed=5)
    labels = labels.astype(np.int32)
    for a, b in [
        (labels[:, 1:, :], labels[:, :-1, :]),
        (labels[:, :, 1:], labels[:, :, :-1]),
    ]:
        touching = (a != b) & (a != 255) & (b != 255)
        assert not touching.any()
    # Every shape is outlined, so void pixels border foreground ones.
    assert (labels == 255).any() and (labels > 0).any()


def test_invalid_arguments_raise():
    with pytest.raises(ValueError, match="num_classes"):
        make_synthetic_arrays(1, num_classes=len(SHAPES) + 2)
    with pytest.raises(ValueError, match="ignore_class"):
        make_synthetic_arrays(1, num_classes=5, ignore_class=3)
    with pytest.raises(ValueError, match="split"):
        synthetic_dataset("holdout")


def test_generation_is_fast():
    start = time.perf_counter()
    make_synthetic_arrays(512, image_size=(64, 64), seed=0)
    # About 0.8 s on a 2-core CPU; the bound leaves room for slow machines.
    assert time.perf_counter() - start < 10


def test_dataset_batches_and_dtypes():
    dataset = synthetic_dataset("val", num_images=10, image_size=(32, 32), batch_size=4)
    batches = list(dataset)
    assert [int(images.shape[0]) for images, _ in batches] == [4, 4, 2]
    images, labels = batches[0]
    assert images.dtype == tf.float32 and images.shape == (4, 32, 32, 3)
    assert labels.dtype == tf.int32 and labels.shape == (4, 32, 32)
    assert float(tf.reduce_min(images)) >= 0 and float(tf.reduce_max(images)) <= 255


def test_splits_differ_and_evaluation_order_is_fixed():
    def first_labels(split):
        dataset = synthetic_dataset(split, num_images=4, image_size=(32, 32))
        return next(iter(dataset))[1].numpy()

    val = first_labels("val")
    np.testing.assert_array_equal(val, first_labels("val"))
    assert not np.array_equal(val, first_labels("train"))


def test_training_shuffles_reproducibly_and_drops_partial_batch():
    def epoch(seed):
        dataset = synthetic_dataset(
            num_images=10,
            image_size=(32, 32),
            batch_size=4,
            training=True,
            seed=seed,
            augment=Augmentation(crop_size=(24, 24)),
        )
        return [labels.numpy() for _, labels in dataset]

    batches = epoch(seed=7)
    assert len(batches) == 2 and batches[0].shape == (4, 24, 24)
    np.testing.assert_array_equal(np.stack(batches), np.stack(epoch(seed=7)))


def test_check_labels_names_source_in_one_line():
    with pytest.raises(ValueError) as error:
        check_labels(np.array([0, 4, 7, 255, -1]), 5, 255, source="synthetic arrays")
    message = str(error.value)
    assert "\n" not in message
    assert "synthetic arrays" in message and "-1, 7" in message
