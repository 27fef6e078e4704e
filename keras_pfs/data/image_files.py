"""Reading image and label-map files inside `tf.data`, with errors naming files.

TF's decoders report a bad file without its name, which is useless in a list
of thousands, so the file's signature, the label values and the image/label
sizes are checked first with assertions whose messages name the file.
"""

import os

import tensorflow as tf

from keras_pfs.data.palette import voc_colours_to_ids
from keras_pfs.data.validation import assert_labels

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# The formats tf.io.decode_image reads, by their first bytes.
_IMAGE_SIGNATURES = (_PNG_SIGNATURE, b"\xff\xd8\xff", b"GIF8", b"BM")


def require_files(paths, where):
    """Raises a one-line ValueError naming the first of `paths` that is
    missing; readers check every listed file before streaming any."""
    for path in paths:
        if not os.path.isfile(path):
            raise ValueError(f"{where}: file {path} does not exist.")


def _assert(condition, *message_parts):
    return tf.debugging.Assert(condition, [tf.strings.join(list(message_parts))])


def _starts_with(contents, signature):
    return tf.equal(tf.strings.substr(contents, 0, len(signature)), signature)


def read_image(path):
    """Reads a JPEG, PNG, GIF or BMP image file.

    Args:
        path: scalar string tensor.

    Returns:
        float32 `[H, W, 3]` in 0..255 (grayscale files are expanded to RGB).

    Example:
    ```python
    image = read_image(tf.constant("frames/0001.png"))
    ```
    """
    contents = tf.io.read_file(path)
    known = tf.reduce_any(
        tf.stack([_starts_with(contents, s) for s in _IMAGE_SIGNATURES])
    )
    check = _assert(known, "File ", path, " is not a JPEG, PNG, GIF or BMP image.")
    with tf.control_dependencies([check]):
        image = tf.io.decode_image(contents, channels=3, expand_animations=False)
    return tf.cast(image, tf.float32)


def _png_header(contents):
    """Bit depth and colour type of a PNG (IHDR, bytes 24 and 25): int32 `[2]`."""
    # Padded, so that a truncated file fails in the decoder, which is named.
    padded = tf.strings.join([contents, tf.constant(b"\0" * 26)])
    return tf.cast(
        tf.io.decode_raw(tf.strings.substr(padded, 24, 2), tf.uint8), tf.int32
    )


def read_label(path):
    """Reads a label map: a PNG whose pixel values are class ids.

    Accepts grayscale PNGs of any bit depth (1 to 16 bits: the stored value
    is the id) and palette PNGs with the standard VOC palette (the palette
    index is the id). TF decodes grayscale PNGs to 8 bits by rescaling (a
    16-bit 11 becomes 0, a 4-bit 1 becomes 17), so each depth is read
    unscaled; TF decodes palette PNGs to RGB, so their colours are mapped
    back to indices, and other colours are an error.

    Args:
        path: scalar string tensor.

    Returns:
        int32 `[H, W]`.

    Example:
    ```python
    label = read_label(tf.constant("labels/0001.png"))
    ```
    """
    contents = tf.io.read_file(path)
    check = _assert(
        _starts_with(contents, _PNG_SIGNATURE),
        "Label file ",
        path,
        " is not a PNG image (label maps must be lossless PNGs of class ids).",
    )
    with tf.control_dependencies([check]):
        header = _png_header(contents)
    depth, colour_type = header[0], header[1]

    def from_palette_colours():
        decoded = tf.io.decode_png(contents, channels=3)
        ids, valid = voc_colours_to_ids(decoded)
        check = _assert(
            tf.reduce_all(valid),
            "Label file ",
            path,
            " has RGB colours outside the VOC palette; expected a grayscale or "
            "VOC palette PNG of class ids.",
        )
        with tf.control_dependencies([check]):
            return tf.identity(ids)

    def sixteen_bit_gray():
        return tf.cast(tf.io.decode_png(contents, 1, dtype=tf.uint16)[..., 0], tf.int32)

    def eight_bit_gray():
        # 1, 2 and 4 bits are scaled up by 255 / (2**depth - 1): undo it.
        scale = 255 // (tf.bitwise.left_shift(1, tf.minimum(depth, 8)) - 1)
        return tf.cast(tf.io.decode_png(contents, 1)[..., 0], tf.int32) // scale

    # PNG colour types 0 and 4 are grayscale (without and with alpha).
    gray = tf.logical_or(tf.equal(colour_type, 0), tf.equal(colour_type, 4))
    return tf.case(
        [
            (tf.logical_not(gray), from_palette_colours),
            (tf.equal(depth, 16), sixteen_bit_gray),
        ],
        default=eight_bit_gray,
    )


def read_pair(image_path, label_path, num_classes, ignore_class):
    """Reads an image and its label map, checking sizes and label values.

    Args:
        image_path: scalar string tensor.
        label_path: scalar string tensor.
        num_classes: number of classes.
        ignore_class: the void id used in the label files.

    Returns:
        `(image, label)`: float32 `[H, W, 3]` in 0..255 and int32 `[H, W]`.

    Raises:
        tf.errors.InvalidArgumentError: when the pair is read, with a message
            that names the offending file.

    Example:
    ```python
    image, label = read_pair(
        tf.constant("train/a.png"), tf.constant("trainannot/a.png"), 11, 11
    )
    ```
    """
    image = read_image(image_path)
    label = read_label(label_path)
    image_size = tf.shape(image)[:2]
    label_size = tf.shape(label)
    check = _assert(
        tf.reduce_all(tf.equal(image_size, label_size)),
        "Image ",
        image_path,
        " (",
        tf.strings.reduce_join(tf.strings.as_string(image_size), separator="x"),
        ") and its label ",
        label_path,
        " (",
        tf.strings.reduce_join(tf.strings.as_string(label_size), separator="x"),
        ") differ in size (height x width).",
    )
    with tf.control_dependencies([check]):
        label = assert_labels(label, num_classes, ignore_class, label_path)
    return image, label
