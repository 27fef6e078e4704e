"""A fast pass over a split's files before training: fail early, name the file."""

import concurrent.futures

import numpy as np
import tensorflow as tf

from keras_pfs.data.image_files import read_image, read_label
from keras_pfs.data.validation import check_labels


def _check_pair(image_path, label_path, num_classes, ignore_class):
    shapes = []
    for path, read in ((image_path, read_image), (label_path, read_label)):
        try:
            shapes.append(read(tf.constant(path)))
        except tf.errors.OpError as error:
            # TF's decoders do not name the file ("Invalid PNG data, size ...").
            reason = error.message.strip().splitlines()[0]
            raise ValueError(f"File {path} cannot be decoded: {reason}") from None
    image, label = shapes
    if tuple(image.shape[:2]) != tuple(label.shape):
        raise ValueError(
            f"Image {image_path} ({image.shape[0]}x{image.shape[1]}) and its label "
            f"{label_path} ({label.shape[0]}x{label.shape[1]}) differ in size "
            "(height x width)."
        )
    check_labels(np.asarray(label), num_classes, ignore_class, label_path)
    return tuple(label.shape)


def check_files(
    image_paths, label_paths, num_classes, ignore_class, threads=8, same_size=False
):
    """Decodes every image and label map, checking sizes and label values.

    Reads run in parallel threads (TF's decoders release the GIL), so a
    CamVid-sized split takes a few seconds; the first bad pair in list order
    is reported.

    Args:
        image_paths: image files.
        label_paths: their label maps, in the same order.
        num_classes: number of classes.
        ignore_class: the void id in the label maps.
        threads: parallel reads.
        same_size: also require every image to have the first one's size
            (images batched without a crop).

    Raises:
        ValueError: one line naming the file that cannot be decoded, the
            pair whose sizes differ, the labels out of range, or with
            `same_size` the first image of another size.

    Example:
    ```python
    check_files(*read_list_file("camvid/val.txt"), num_classes=11, ignore_class=11)
    ```
    """
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        futures = [
            pool.submit(_check_pair, image, label, num_classes, ignore_class)
            for image, label in zip(image_paths, label_paths, strict=True)
        ]
        sizes = [future.result() for future in futures]
    for path, size in zip(image_paths, sizes, strict=True):
        if same_size and size != sizes[0]:
            raise ValueError(
                f"Image {path} is {size[0]}x{size[1]}, but {image_paths[0]} is "
                f"{sizes[0][0]}x{sizes[0][1]}: images batched without config key "
                "crop_size must share one size; set crop_size or resize them."
            )
