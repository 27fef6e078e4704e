import os
import struct
import zlib

import numpy as np
import pytest
import tensorflow as tf

from keras_pfs.data import (
    Augmentation,
    assert_labels,
    list_file_dataset,
    oxford_iiit_pet_labels,
    scene_parse150_labels,
    tfds_dataset,
    tfds_segmentation,
    voc_colormap,
    voc_colours_to_ids,
    voc_dataset,
)

CAMVID = "/work/shared/datasets/camvid"


def _write(path, contents):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(contents)


def _png(array):
    return tf.io.encode_png(array).numpy()


def _palette_png(indices, palette):
    """An 8-bit palette PNG, the format of VOC's SegmentationClass files."""

    def chunk(kind, data):
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    height, width = indices.shape
    rows = b"".join(b"\x00" + row.tobytes() for row in indices.astype(np.uint8))
    header = struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"PLTE", palette.astype(np.uint8).tobytes())
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _random_pair(rng, height, width, num_classes, ignore_class):
    image = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    label = rng.integers(0, num_classes, size=(height, width), dtype=np.uint8)
    label[0, :] = ignore_class
    return image, label


@pytest.fixture
def list_folder(tmp_path):
    """A CamVid-like folder: PNG frames, grayscale label PNGs, a list file."""
    rng = np.random.default_rng(0)
    pairs, lines = [], []
    for i in range(3):
        image, label = _random_pair(rng, 9, 12, num_classes=4, ignore_class=4)
        _write(str(tmp_path / "train" / f"{i}.png"), _png(image))
        _write(str(tmp_path / "trainannot" / f"{i}.png"), _png(label[..., None]))
        lines.append(f"train/{i}.png trainannot/{i}.png")
        pairs.append((image, label))
    (tmp_path / "train.txt").write_text("\n".join(lines) + "\n")
    return tmp_path, pairs


def _first_line_of_error(run):
    with pytest.raises(tf.errors.InvalidArgumentError) as error:
        run()
    return str(error.value.message).splitlines()[0]


def test_assert_labels_shows_ten_values_and_counts_the_rest():
    labels = tf.range(-5, 20)
    line = _first_line_of_error(lambda: assert_labels(labels, 3, 255, "x.png"))
    assert (
        "Label values -5, -4, -3, -2, -1, 3, 4, 5, 6, 7 (and 12 more) in x.png" in line
    )
    np.testing.assert_array_equal(
        assert_labels(tf.constant([0, 2, 255]), 3, 255, "x"), [0, 2, 255]
    )


def test_list_file_round_trips_pixel_exactly(list_folder):
    root, pairs = list_folder
    dataset = list_file_dataset(
        str(root / "train.txt"), num_classes=4, ignore_class=4, batch_size=2
    )
    batches = list(dataset)
    images = np.concatenate([b[0].numpy() for b in batches])
    labels = np.concatenate([b[1].numpy() for b in batches])
    assert batches[0][0].dtype == tf.float32 and batches[0][1].dtype == tf.int32
    np.testing.assert_array_equal(images, np.stack([p[0] for p in pairs]))
    np.testing.assert_array_equal(labels, np.stack([p[1] for p in pairs]))


def test_list_file_training_crops_and_drops_partial_batch(list_folder):
    root, _ = list_folder
    dataset = list_file_dataset(
        str(root / "train.txt"),
        num_classes=4,
        ignore_class=4,
        batch_size=2,
        training=True,
        augment=Augmentation(crop_size=(8, 8)),
        seed=0,
    )
    batches = list(dataset)
    assert len(batches) == 1
    assert batches[0][0].shape == (2, 8, 8, 3) and batches[0][1].shape == (2, 8, 8)


def test_list_file_missing_file_is_named_at_construction(list_folder):
    root, _ = list_folder
    os.remove(root / "trainannot" / "1.png")
    with pytest.raises(ValueError, match=r"trainannot/1\.png does not exist"):
        list_file_dataset(str(root / "train.txt"), num_classes=4, ignore_class=4)
    with pytest.raises(ValueError, match="nowhere.txt"):
        list_file_dataset(str(root / "nowhere.txt"), num_classes=4)


def test_list_file_bad_labels_name_the_file(list_folder):
    root, _ = list_folder
    label = np.full((9, 12, 1), 7, dtype=np.uint8)
    _write(str(root / "trainannot" / "2.png"), _png(label))
    dataset = list_file_dataset(str(root / "train.txt"), num_classes=4, ignore_class=4)
    line = _first_line_of_error(lambda: list(dataset))
    assert "trainannot/2.png" in line and "Label values 7" in line


def test_list_file_size_mismatch_names_both_files(list_folder):
    root, _ = list_folder
    _write(str(root / "trainannot" / "0.png"), _png(np.zeros((5, 12, 1), np.uint8)))
    dataset = list_file_dataset(str(root / "train.txt"), num_classes=4, ignore_class=4)
    line = _first_line_of_error(lambda: list(dataset))
    assert "train/0.png (9x12)" in line and "trainannot/0.png (5x12)" in line


def test_list_file_unreadable_image_is_named(list_folder):
    root, _ = list_folder
    _write(str(root / "train" / "1.png"), b"not an image")
    dataset = list_file_dataset(str(root / "train.txt"), num_classes=4, ignore_class=4)
    line = _first_line_of_error(lambda: list(dataset))
    assert "train/1.png is not a JPEG, PNG, GIF or BMP image" in line


def test_voc_colormap_standard_entries():
    colormap = voc_colormap()
    assert colormap[1].tolist() == [128, 0, 0]
    assert colormap[15].tolist() == [192, 128, 128]
    assert colormap[255].tolist() == [224, 224, 192]
    assert len({tuple(c) for c in colormap}) == 256
    ids, valid = voc_colours_to_ids(tf.constant(colormap[None]))
    np.testing.assert_array_equal(ids[0], np.arange(256))
    assert bool(tf.reduce_all(valid))
    _, valid = voc_colours_to_ids(tf.constant([[[1, 2, 3]]], tf.uint8))
    assert not bool(valid[0, 0])


@pytest.fixture
def voc_root(tmp_path):
    """A two-image VOC2012 folder with palette label PNGs."""
    rng = np.random.default_rng(1)
    root = tmp_path / "VOC2012"
    labels = {}
    for name, size in [("2007_000032", (10, 14)), ("2007_000039", (12, 8))]:
        image, label = _random_pair(rng, *size, num_classes=21, ignore_class=255)
        jpeg = tf.io.encode_jpeg(image, quality=95).numpy()
        _write(str(root / "JPEGImages" / f"{name}.jpg"), jpeg)
        _write(
            str(root / "SegmentationClass" / f"{name}.png"),
            _palette_png(label, voc_colormap()),
        )
        labels[name] = label
    _write(
        str(root / "ImageSets" / "Segmentation" / "val.txt"),
        "\n".join(labels).encode() + b"\n",
    )
    return root, list(labels.values())


def test_voc_reads_palette_indices_and_maps_void(voc_root):
    root, labels = voc_root
    batches = list(voc_dataset(str(root), "val", ignore_class=21, batch_size=1))
    assert len(batches) == 2
    for (images, out), expected in zip(batches, labels, strict=True):
        assert images.shape == (1, *expected.shape, 3)
        np.testing.assert_array_equal(
            out[0], np.where(expected == 255, 21, expected).astype(np.int32)
        )


def test_voc_rejects_colours_outside_the_palette(voc_root):
    root, labels = voc_root
    odd_palette = voc_colormap().astype(np.int64) + 1
    _write(
        str(root / "SegmentationClass" / "2007_000039.png"),
        _palette_png(labels[1], odd_palette),
    )
    dataset = voc_dataset(str(root), "val", batch_size=1)
    line = _first_line_of_error(lambda: list(dataset))
    assert "2007_000039.png has RGB colours outside the VOC palette" in line


def test_voc_missing_files_are_named(voc_root):
    root, _ = voc_root
    with pytest.raises(ValueError, match="train.txt does not exist"):
        voc_dataset(str(root), "train")
    os.remove(root / "JPEGImages" / "2007_000039.jpg")
    with pytest.raises(ValueError, match=r"2007_000039\.jpg"):
        voc_dataset(str(root), "val")


def test_pet_trimap_mapping():
    trimap = tf.constant([[[1], [2], [3], [0]]], tf.uint8)
    labels = oxford_iiit_pet_labels(trimap, ignore_class=255)
    np.testing.assert_array_equal(labels, [[1, 0, 255, -1]])


def test_scene_parse150_mapping_uses_red_channel():
    mask = tf.constant([[[0, 9, 0], [1, 3, 0], [100, 4, 0]]], tf.uint8)
    labels = scene_parse150_labels(mask, ignore_class=255)
    np.testing.assert_array_equal(labels, [[255, 0, 99]])
    assert tfds_segmentation("scene_parse150").num_classes == 100


def test_unknown_tfds_dataset_raises():
    with pytest.raises(ValueError, match="'mnist' is not supported"):
        tfds_dataset("mnist")


def test_tfds_unprepared_dataset_without_download_fails_clearly(tmp_path):
    with pytest.raises(ValueError, match="not prepared"):
        tfds_dataset("oxford_iiit_pet", data_dir=str(tmp_path))
    with pytest.raises(ValueError, match=r"annotations\.tar\.gz, images\.tar\.gz"):
        tfds_dataset(
            "oxford_iiit_pet", data_dir=str(tmp_path), manual_dir=str(tmp_path)
        )


def test_tfds_pipeline_on_mocked_examples(tmp_path):
    import tensorflow_datasets as tfds

    trimap = np.array([[1, 2], [3, 1]], dtype=np.uint8)[..., None]

    def as_dataset(self, *args, **kwargs):
        del self, args, kwargs
        example = {
            "image": np.full((2, 2, 3), 7, np.uint8),
            "segmentation_mask": trimap,
        }
        return tf.data.Dataset.from_tensors(example).repeat(3)

    # mock_data turns download_and_prepare into a no-op: nothing is fetched.
    with tfds.testing.mock_data(as_dataset_fn=as_dataset):
        dataset = tfds_dataset(
            "oxford_iiit_pet",
            "val",
            batch_size=2,
            download=True,
            data_dir=str(tmp_path),
        )
        batches = list(dataset)
    images, labels = batches[0]
    assert images.dtype == tf.float32 and images.shape == (2, 2, 2, 3)
    np.testing.assert_array_equal(labels[0], [[1, 0], [255, 1]])


@pytest.mark.skipif(not os.path.isdir(CAMVID), reason="CamVid is not available")
def test_camvid_list_file_sanity():
    dataset = list_file_dataset(
        os.path.join(CAMVID, "train.txt"), num_classes=11, ignore_class=11, batch_size=2
    )
    images, labels = next(iter(dataset))
    assert images.shape == (2, 180, 240, 3) and labels.shape == (2, 180, 240)
    assert int(tf.reduce_min(labels)) >= 0 and int(tf.reduce_max(labels)) <= 11
