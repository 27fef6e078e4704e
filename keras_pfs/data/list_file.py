"""Datasets described by a list file of `image_path label_path` lines."""

import os

import tensorflow as tf

from keras_pfs.data.image_files import read_image, read_pair, require_files
from keras_pfs.data.pipeline import labeled_subset, make_pipeline
from keras_pfs.data.reader import Reader

_IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


def read_path_list(path, kind, to_paths):
    """Reads the paths a text file lists, one record a line, and checks that
    every listed file exists.

    Checking existence up front costs one `stat` per file and turns a missing
    file into an error before training rather than mid-epoch. Blank lines are
    skipped.

    Args:
        path: the text file.
        kind: what errors call it, e.g. `"List file"`.
        to_paths: `(line, where) -> paths` for a non-blank line, a tuple of
            the same length on every line: `(image_path, label_path)` for a
            list file, `(image_path,)` for a list of unlabelled images;
            `where` (`"path:line_number"`) names the line in errors.

    Returns:
        One list per field of the records, e.g. `(image_paths,
        label_paths)`.

    Raises:
        ValueError: if the file or a listed file is missing, or nothing is
            listed; the message names the file (and line).
    """
    if not os.path.isfile(path):
        raise ValueError(f"{kind} {path} does not exist.")
    records = []
    with open(path) as lines:
        for number, line in enumerate(lines, start=1):
            if not line.split():
                continue
            where = f"{path}:{number}"
            paths = to_paths(line, where)
            require_files(paths, where)
            records.append(paths)
    if not records:
        raise ValueError(f"{kind} {path} lists no images.")
    return tuple(list(field) for field in zip(*records, strict=True))


def read_list_file(list_file):
    """Parses a list file and checks that every listed file exists.

    Each non-blank line holds an image path and a label-map path separated by
    whitespace, relative to the list file's directory (absolute paths are
    kept).

    Args:
        list_file: path of the list file.

    Returns:
        `(image_paths, label_paths)`: lists of absolute-or-joined paths.

    Raises:
        ValueError: if the list file or a listed file is missing, a line is
            malformed, or the list is empty; the message names the file.

    Example:
    ```python
    images, labels = read_list_file("camvid/train.txt")
    ```
    """
    root = os.path.dirname(os.path.abspath(list_file))

    def to_paths(line, where):
        fields = line.split()
        if len(fields) != 2:
            raise ValueError(
                f"{where}: expected 'image_path label_path', got {line.strip()!r}."
            )
        return tuple(os.path.join(root, field) for field in fields)

    return read_path_list(list_file, "List file", to_paths)


def read_image_list(source):
    """The image paths of a source of unlabelled images.

    Args:
        source: a folder (its image files, sorted by name, not recursive) or
            a text file with one image path a line, relative to its folder.

    Returns:
        A list of image paths.

    Raises:
        ValueError: naming the source, line or file: a missing path, a line
            with more than one field (a label: unlabelled images have none),
            or no images at all.

    Example:
    ```python
    paths = read_image_list("camvid/unlabelled.txt")
    ```
    """
    if os.path.isdir(source):
        paths = [
            os.path.join(source, name)
            for name in sorted(os.listdir(source))
            if name.lower().endswith(_IMAGE_EXTENSIONS)
        ]
        if not paths:
            raise ValueError(
                f"Unlabelled-image folder {source} holds no "
                f"{'/'.join(_IMAGE_EXTENSIONS)} files."
            )
        return paths
    root = os.path.dirname(os.path.abspath(source))

    def to_paths(line, where):
        fields = line.split()
        if len(fields) != 1:
            raise ValueError(
                f"{where}: an unlabelled-image list holds one image path a "
                f"line, got {len(fields)} fields ({line.strip()!r}); "
                "labelled pairs belong in the training list file."
            )
        return (os.path.join(root, fields[0]),)

    (paths,) = read_path_list(source, "Unlabelled-image list", to_paths)
    return paths


def list_file_dataset(
    list_file,
    num_classes,
    ignore_class=255,
    batch_size=8,
    training=False,
    augment=None,
    seed=None,
    labeled_fraction=1.0,
    unlabeled_images=(),
):
    """Streams the pairs of a list file (e.g. CamVid's `train.txt`).

    Label maps are PNGs whose pixel values are class ids (8-bit grayscale, or
    palette PNGs with the VOC palette), with `ignore_class` marking void.

    Args:
        list_file: path of the list file, see `read_list_file`.
        num_classes: number of classes; labels must be in `[0, num_classes)`
            or equal `ignore_class`, else reading fails naming the file.
        ignore_class: void id in the label files.
        batch_size: images per batch; images must share a size unless
            `augment` crops or `batch_size` is 1.
        training: shuffle every epoch, apply `augment` and drop the last
            partial batch.
        augment: optional `Augmentation`, used only when `training`.
        seed: seeds shuffling and augmentation; `None` for fresh randomness.
        labeled_fraction: keep the labels of this fraction of the listed
            images, drawn by `seed` (see `labeled_subset`); the others are
            used as unlabelled images.
        unlabeled_images: paths of images without labels (see
            `read_image_list`), streamed with the pairs; their labels are
            void.

    Returns:
        A dataset of `(images, labels)`: float32 `[B, H, W, 3]` in 0..255 and
        int32 `[B, H, W]`.

    Example:
    ```python
    train = list_file_dataset(
        "camvid/train.txt", num_classes=11, ignore_class=11, training=True,
        augment=Augmentation(crop_size=(176, 176)),
    )
    ```
    """
    image_paths, label_paths = read_list_file(list_file)
    labeled = labeled_subset(
        len(image_paths), labeled_fraction, seed, len(unlabeled_images)
    )
    # An empty label path marks an image without a label file.
    image_paths = [*image_paths, *unlabeled_images]
    label_paths = [*label_paths, *[""] * len(unlabeled_images)]
    records = tf.data.Dataset.from_tensor_slices((image_paths, label_paths))

    def load(image_path, label_path):
        def pair():
            return read_pair(image_path, label_path, num_classes, ignore_class)

        def image_alone():
            image = read_image(image_path)
            return image, tf.fill(tf.shape(image)[:2], tf.constant(ignore_class))

        if not unlabeled_images:
            return pair()
        return tf.cond(tf.equal(label_path, ""), image_alone, pair)

    return make_pipeline(
        records,
        load,
        batch_size=batch_size,
        training=training,
        augment=augment,
        ignore_class=ignore_class,
        seed=seed,
        shuffle_buffer=len(image_paths),
        labeled=labeled,
    )


class ListFileReader(Reader):
    """`dataset="list_file"`: `list_file_dataset` over `<data_dir>/<split>.txt`;
    `unlabeled_images` is a folder or a list file (see `read_image_list`)."""

    unlabeled_images = "a folder or a list file of image paths"

    def accepts_unlabeled(self, value):
        return isinstance(value, str) and bool(value)

    def read_unlabeled(self, value):
        return read_image_list(value)

    def list_file(self, data_dir, split):
        return os.path.join(data_dir, f"{split}.txt")

    def split_files(self, config, split):
        return read_list_file(self.list_file(config.data_dir, split))

    def dataset(self, config, split, unlabeled, labeled_fraction, **options):
        return list_file_dataset(
            self.list_file(config.data_dir, split),
            num_classes=config.num_classes,
            labeled_fraction=labeled_fraction,
            unlabeled_images=unlabeled or (),
            **options,
        )
