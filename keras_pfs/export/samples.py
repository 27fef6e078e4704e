"""Images (and labels) for calibration and the parity gate."""

import numpy as np
import tensorflow as tf

from keras_pfs import data


def list_file_samples(list_file, num_samples, num_classes=None, ignore_class=255):
    """`num_samples` pairs spread evenly over a list file, in file order.

    List files of video datasets (CamVid) run sequence by sequence, so the
    first lines would all show one street; spreading covers every sequence.

    Args:
        list_file: a list file (see `keras_pfs.data.read_list_file`).
        num_samples: how many pairs to read (fewer if the list is shorter).
        num_classes: if given, labels are read and checked too.
        ignore_class: void label id, with `num_classes`.

    Returns:
        `(images, labels)`: lists of uint8 `(H, W, 3)` and int32 `(H, W)`
        arrays; `labels` is `None` without `num_classes`.

    Example:
    ```python
    images, labels = list_file_samples("camvid/val.txt", 8, 11, ignore_class=11)
    ```
    """
    image_paths, label_paths = data.read_list_file(list_file)
    picks = np.unique(np.linspace(0, len(image_paths) - 1, num_samples).round())
    pairs = [(image_paths[int(i)], label_paths[int(i)]) for i in picks]
    images = [_to_uint8(data.read_image(image)) for image, _ in pairs]
    if num_classes is None:
        return images, None
    labels = [
        data.read_pair(image, label, num_classes, ignore_class)[1].numpy()
        for image, label in pairs
    ]
    return images, labels


def synthetic_samples(num_samples, image_size, num_classes):
    """`num_samples` deterministic synthetic images (seed 0) and labels."""
    images, labels = data.make_synthetic_arrays(
        num_samples, image_size=image_size, num_classes=num_classes, seed=0
    )
    return list(images), [label.astype(np.int32) for label in labels]


def resize_samples(images, labels, size):
    """Resizes to `size` = `(height, width)`: images bilinearly, labels by
    nearest neighbour (class ids must not be blended)."""
    images = [
        _to_uint8(tf.image.resize(image.astype(np.float32), size)) for image in images
    ]
    if labels is not None:
        labels = [
            tf.image.resize(label[..., None], size, method="nearest")[..., 0].numpy()
            for label in labels
        ]
    return images, labels


def _to_uint8(image):
    return np.clip(np.round(np.asarray(image)), 0, 255).astype(np.uint8)
