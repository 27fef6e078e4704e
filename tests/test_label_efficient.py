"""Distilling beyond the labels: unlabelled images, hidden labels and where
the distillation terms apply."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_pfs import Distiller, data
from keras_pfs.config import load_config
from keras_pfs.losses import segmentation_cross_entropy
from keras_pfs.models import build_segmenter
from keras_pfs.training.datasets import build_datasets

NUM_CLASSES = 3
VOID = 255


@pytest.fixture(scope="module")
def models():
    keras.utils.set_random_seed(3)
    return build_segmenter("tiny_mobile", NUM_CLASSES), build_segmenter(
        "tiny_mobile", NUM_CLASSES
    )


def images_and_labels(num=4, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 255, (num, 32, 32, 3)).astype("float32")
    return images, np.argmax(images, axis=-1).astype("int32")


def fit_once(models, dataset, **kwargs):
    """Student head weights before and after one SGD epoch, and the logs."""
    student, teacher = models
    distiller = Distiller(student=student, teacher=teacher, **kwargs)
    # Plain SGD: weight decay would move every weight without any gradient.
    distiller.compile(optimizer=keras.optimizers.SGD(0.05))
    head = student.get_layer("classifier")
    before = [w.numpy().copy() for w in head.trainable_weights]
    history = distiller.fit(dataset, epochs=1, verbose=0).history
    after = [w.numpy() for w in head.trainable_weights]
    return before, after, history


def head_moved(before, after):
    return max(float(np.abs(a - b).max()) for a, b in zip(before, after, strict=True))


def test_fit_on_images_alone_trains_the_head_with_a_finite_loss(models):
    images, _ = images_and_labels()
    dataset = tf.data.Dataset.from_tensor_slices(images).batch(2)
    before, after, history = fit_once(models, dataset)
    assert head_moved(before, after) > 1e-4
    assert np.isfinite(history["loss"][0]) and history["loss"][0] > 0
    assert history["ce"][0] == 0.0  # no label, no cross-entropy
    assert history["mean_iou"][0] == 0.0  # metrics count labelled pixels only


def test_labeled_pixels_only_leaves_the_head_alone_on_void_labels(models):
    images, _ = images_and_labels()
    void = np.full(images.shape[:3], VOID, "int32")
    dataset = tf.data.Dataset.from_tensor_slices((images, void)).batch(2)
    kwargs = {"distillation_losses": ["imitation", "kd"]}
    before, after, _ = fit_once(models, dataset, distill_pixels="labeled", **kwargs)
    assert head_moved(before, after) == 0.0
    before, after, _ = fit_once(models, dataset, distill_pixels="all", **kwargs)
    assert head_moved(before, after) > 1e-4


def test_cross_entropy_is_the_mean_over_the_labelled_images(models):
    student, _ = models
    images, labels = images_and_labels()
    labels[1] = VOID
    labels[3] = VOID
    distiller = Distiller(student=student, teacher=None, distillation_losses={})
    terms, _ = distiller.loss_terms(images, labels)
    logits = student(images)["logits"]
    labelled = segmentation_cross_entropy(labels[[0, 2]], logits.numpy()[[0, 2]], VOID)
    np.testing.assert_allclose(np.mean(terms["loss"]), np.mean(labelled), rtol=1e-6)
    # The same images, all labelled: no rescaling at all.
    terms, _ = distiller.loss_terms(images[[0, 2]], labels[[0, 2]])
    np.testing.assert_allclose(terms["loss"], terms["ce"], rtol=0)


def test_labels_with_a_trailing_channel_axis_are_accepted(models):
    images, labels = images_and_labels()
    student, teacher = models
    distiller = Distiller(student=student, teacher=teacher)
    flat, _ = distiller.loss_terms(images, labels)
    channel, _ = distiller.loss_terms(images, labels[..., None])
    np.testing.assert_allclose(flat["loss"], channel["loss"], rtol=1e-6)


def test_distill_pixels_is_checked_and_round_trips(models):
    student, teacher = models
    with pytest.raises(ValueError, match="distill_pixels='some'"):
        Distiller(student=student, teacher=teacher, distill_pixels="some")
    distiller = Distiller(student=student, teacher=teacher, distill_pixels="labeled")
    assert Distiller.from_config(distiller.get_config()).distill_pixels == "labeled"


def test_labeled_subset_depends_on_the_seed_alone():
    first = data.labeled_subset(100, 0.25, seed=7, num_unlabeled=10)
    assert first.sum() == 25 and not first[100:].any()
    np.testing.assert_array_equal(
        first, data.labeled_subset(100, 0.25, seed=7, num_unlabeled=10)
    )
    assert not np.array_equal(
        first, data.labeled_subset(100, 0.25, seed=8, num_unlabeled=10)
    )
    assert data.labeled_subset(10, 0.01, seed=0).sum() == 1  # never no label at all
    with pytest.raises(ValueError, match="labeled_fraction"):
        data.labeled_subset(10, 0.0)


def batches(dataset):
    return [(x.numpy(), y.numpy()) for x, y in dataset]


def test_hidden_labels_keep_the_same_images_in_the_same_batches():
    common = dict(num_images=16, image_size=(16, 16), num_classes=3, batch_size=4)
    common.update(seed=5, training=True)
    full = batches(data.synthetic_dataset("train", **common))
    quarter = batches(data.synthetic_dataset("train", labeled_fraction=0.25, **common))
    labelled_images = 0
    for (x_full, y_full), (x_part, y_part) in zip(full, quarter, strict=True):
        np.testing.assert_array_equal(x_full, x_part)
        for y_f, y_p in zip(y_full, y_part, strict=True):
            hidden = (y_p == VOID).all()
            labelled_images += not hidden
            if not hidden:
                np.testing.assert_array_equal(y_f, y_p)
    assert labelled_images == 4


def test_config_unlabelled_images_join_the_training_stream_only():
    config = load_config(
        None,
        [
            "num_train_images=8",
            "num_val_images=4",
            "image_size=(16, 16)",
            "batch_size=4",
            "unlabeled_images=4",
            "labeled_fraction=0.5",
        ],
    )
    train, val = build_datasets(config)
    train_labels = np.concatenate([y for _, y in batches(train)])
    assert len(train_labels) == 12
    assert sum((y != VOID).any() for y in train_labels) == 4
    assert all((y != VOID).any() for _, ys in batches(val) for y in ys)


@pytest.mark.parametrize(
    "override, message",
    [
        (
            "labeled_fraction=0.0",
            r"labeled_fraction=0.0: expected a number in \(0, 1\]",
        ),
        ("labeled_fraction=1.5", r"labeled_fraction=1.5"),
        ("unlabeled_images='x.txt'", "a count of extra images"),
        ("distill_pixels='every'", "distill_pixels='every'"),
    ],
)
def test_bad_label_settings_are_named(override, message):
    with pytest.raises(ValueError, match=message):
        load_config(None, [override])


def write_png(path, size=(8, 8)):
    tf.io.write_file(path, tf.io.encode_png(np.zeros((*size, 3), "uint8")))


def test_unlabelled_list_files_and_folders(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for name in ("b.png", "a.png"):
        write_png(str(folder / name))
    (folder / "notes.txt").write_text("not an image")
    assert data.read_image_list(str(folder)) == [
        str(folder / "a.png"),
        str(folder / "b.png"),
    ]
    listing = tmp_path / "unlabelled.txt"
    listing.write_text("frames/a.png\n\nframes/b.png\n")
    assert data.read_image_list(str(listing)) == [
        os.path.join(tmp_path, "frames/a.png"),
        os.path.join(tmp_path, "frames/b.png"),
    ]


@pytest.mark.parametrize(
    "content, message",
    [
        ("frames/a.png labels/a.png\n", r"unlabelled.txt:1: an unlabelled-image list"),
        (
            "frames/missing.png\n",
            r"unlabelled.txt:1: file .*missing.png does not exist",
        ),
        ("\n", "lists no images"),
    ],
)
def test_bad_unlabelled_lists_are_named(tmp_path, content, message):
    (tmp_path / "frames").mkdir()
    write_png(str(tmp_path / "frames" / "a.png"))
    listing = tmp_path / "unlabelled.txt"
    listing.write_text(content)
    with pytest.raises(ValueError, match=message):
        data.read_image_list(str(listing))
    with pytest.raises(ValueError, match="holds no"):
        data.read_image_list(str(tmp_path / "frames" / ".."))  # no images directly


def test_list_file_stream_gives_unlabelled_images_void_labels(tmp_path):
    for name in ("a", "b"):
        write_png(str(tmp_path / f"{name}.png"))
        tf.io.write_file(
            str(tmp_path / f"{name}_L.png"),
            tf.io.encode_png(np.ones((8, 8, 1), "uint8")),
        )
    (tmp_path / "train.txt").write_text("a.png a_L.png\nb.png b_L.png\n")
    write_png(str(tmp_path / "c.png"))
    dataset = data.list_file_dataset(
        str(tmp_path / "train.txt"),
        num_classes=3,
        batch_size=1,
        unlabeled_images=[str(tmp_path / "c.png")],
    )
    labels = [y for _, y in batches(dataset)]
    assert [int(y.max()) for y in labels] == [1, 1, VOID]


def test_a_run_names_a_bad_unlabelled_list_before_training(tmp_path):
    from keras_pfs.training import check_splits

    for split in ("train", "val"):
        lines = []
        for i in range(2):
            write_png(str(tmp_path / f"{split}{i}.png"))
            tf.io.write_file(
                str(tmp_path / f"{split}{i}_L.png"),
                tf.io.encode_png(np.zeros((8, 8, 1), "uint8")),
            )
            lines.append(f"{split}{i}.png {split}{i}_L.png")
        (tmp_path / f"{split}.txt").write_text("\n".join(lines) + "\n")
    (tmp_path / "extra.txt").write_text("train0.png train0_L.png\n")
    config = load_config(
        None,
        [
            "dataset='list_file'",
            f"data_dir={str(tmp_path)!r}",
            "num_classes=3",
            "batch_size=2",
            f"unlabeled_images={str(tmp_path / 'extra.txt')!r}",
        ],
    )
    with pytest.raises(ValueError, match=r"extra.txt:1: an unlabelled-image list"):
        check_splits(config)
    (tmp_path / "extra.txt").write_text("train0.png\ntrain1.png\n")
    assert check_splits(config) == {"train": 2, "val": 2, "unlabeled": 2}
