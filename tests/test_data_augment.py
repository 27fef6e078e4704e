import numpy as np
import pytest
import tensorflow as tf

from keras_pfs.data import Augmentation


def _pair(height=6, width=8):
    image = tf.reshape(
        tf.range(height * width * 3, dtype=tf.float32), [height, width, 3]
    )
    label = tf.reshape(tf.range(height * width, dtype=tf.int32) % 5, [height, width])
    return image, label


def test_crop_pads_label_with_ignore_and_image_with_zero():
    image, label = _pair(4, 5)
    augment = Augmentation(crop_size=(7, 9), scale_range=None, flip=False)
    out_image, out_label = augment(image, label, seed=[0, 1], ignore_class=99)
    assert out_image.shape == (7, 9, 3) and out_label.shape == (7, 9)
    np.testing.assert_array_equal(out_label[:4, :5], label)
    np.testing.assert_array_equal(out_image[:4, :5], image)
    assert np.all(out_label[4:] == 99) and np.all(out_label[:, 5:] == 99)
    assert np.all(out_image[4:] == 0) and np.all(out_image[:, 5:] == 0)


def test_crop_is_a_window_of_the_input():
    image, label = _pair(10, 12)
    augment = Augmentation(crop_size=(4, 5), scale_range=None, flip=False)
    out_image, out_label = augment(image, label, seed=[3, 4])
    # Pixel values encode their position, so the window is recoverable.
    flat = int(out_image[0, 0, 0]) // 3
    row, col = divmod(flat, 12)
    np.testing.assert_array_equal(out_label, label[row : row + 4, col : col + 5])
    np.testing.assert_array_equal(out_image, image[row : row + 4, col : col + 5])


def test_flip_moves_image_and_label_together():
    image, label = _pair()
    augment = Augmentation(scale_range=None, flip=True)
    outcomes = set()
    for seed in range(16):
        out_image, out_label = augment(image, label, seed=[seed, 0])
        flipped = not np.array_equal(out_label, label)
        outcomes.add(flipped)
        expected = (
            (tf.reverse(image, [1]), tf.reverse(label, [1]))
            if flipped
            else (
                image,
                label,
            )
        )
        np.testing.assert_array_equal(out_image, expected[0])
        np.testing.assert_array_equal(out_label, expected[1])
    assert outcomes == {True, False}


def test_scale_resizes_within_range_and_keeps_label_ids():
    image, label = _pair(20, 30)
    augment = Augmentation(scale_range=(0.5, 2.0), flip=False)
    sizes = set()
    for seed in range(8):
        out_image, out_label = augment(image, label, seed=[seed, 1])
        height, width = out_label.shape
        assert 10 <= height <= 40 and 15 <= width <= 60
        assert out_image.shape[:2] == (height, width)
        assert out_label.dtype == tf.int32
        assert set(np.unique(out_label)) <= set(range(5))
        sizes.add(height)
    assert len(sizes) > 1


def test_same_seed_same_result():
    image, label = _pair(20, 30)
    augment = Augmentation(crop_size=(16, 16))
    first = augment(image, label, seed=[5, 6])
    second = augment(image, label, seed=[5, 6])
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


def test_apply_is_reproducible_per_seed_and_varies_per_epoch():
    image, label = _pair(20, 30)
    pairs = tf.data.Dataset.from_tensors((image, label)).repeat(4)
    augment = Augmentation(crop_size=(8, 8))

    def run(dataset):
        return np.stack([out_label.numpy() for _, out_label in dataset])

    dataset = augment.apply(pairs, seed=11)
    first_epoch = run(dataset)
    np.testing.assert_array_equal(first_epoch, run(augment.apply(pairs, seed=11)))
    assert not np.array_equal(first_epoch, run(dataset))


def test_invalid_configuration_raises():
    with pytest.raises(ValueError, match="crop_size"):
        Augmentation(crop_size=(0, 4))
    with pytest.raises(ValueError, match="scale_range"):
        Augmentation(scale_range=(2.0, 1.0))
