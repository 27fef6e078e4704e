"""Class colours for pictures: named dataset palettes, the VOC colour map
and its inverse.

VOC label maps are palette PNGs whose palette index is the class id.
`tf.io.decode_png` expands palette PNGs to RGB, and Pillow (which could read
the indices) is not a dependency of this package, so label colours are mapped
back to indices instead. This is exact for files that use the standard VOC
palette, whose 256 colours are distinct.
"""

import numpy as np
import tensorflow as tf


def voc_colormap():
    """The standard 256-entry VOC colour map.

    Bits 0, 1, 2 of the index go to the top bit of red, green, blue; bits 3,
    4, 5 to the next bit, and so on.

    Returns:
        uint8 array `[256, 3]`; row `i` is the RGB colour of index `i`.

    Example:
    ```python
    voc_colormap()[255]  # array([224, 224, 192]): the void colour
    ```
    """
    indices = np.arange(256)
    colormap = np.zeros((256, 3), dtype=np.int64)
    for bit in range(8):
        for channel in range(3):
            source = 3 * bit + channel
            if source < 8:
                colormap[:, channel] |= ((indices >> source) & 1) << (7 - bit)
    return colormap.astype(np.uint8)


# SegNet's CamVid colours, in the class order of configs/camvid.py.
CAMVID_PALETTE = np.array(
    [
        [128, 128, 128],
        [128, 0, 0],
        [192, 192, 128],
        [128, 64, 128],
        [60, 40, 222],
        [128, 128, 0],
        [192, 128, 128],
        [64, 64, 128],
        [64, 0, 128],
        [64, 64, 0],
        [0, 128, 192],
    ],
    dtype=np.uint8,
)

_NAMED_PALETTES = {"camvid": lambda: CAMVID_PALETTE, "voc": voc_colormap}


def class_palette(num_classes, palette=None):
    """The RGB colour of each class, from a dataset's config.

    Args:
        num_classes: number of classes K.
        palette: `None` (a generic palette, the same for every dataset of K
            classes), a name (`"camvid"`, `"voc"`) or a sequence of at least
            K `(r, g, b)` colours in 0..255.

    Returns:
        uint8 array `[K, 3]`; row `i` is the colour of class `i`.

    Example:

    >>> class_palette(11, "camvid")[3]
    array([128,  64, 128], dtype=uint8)
    """
    if palette is None:
        # Fixed seed: a class keeps its colour across runs and pictures.
        rng = np.random.default_rng(0)
        return rng.integers(40, 256, (num_classes, 3)).astype(np.uint8)
    if isinstance(palette, str):
        if palette not in _NAMED_PALETTES:
            raise ValueError(
                f"Config key palette={palette!r} is unknown; use None, a list of "
                f"(r, g, b) colours or one of {sorted(_NAMED_PALETTES)}."
            )
        palette = _NAMED_PALETTES[palette]()
    colours = np.asarray(palette)
    if (
        colours.ndim != 2
        or colours.shape[1] != 3
        or len(colours) < num_classes
        or colours.min() < 0
        or colours.max() > 255
    ):
        raise ValueError(
            f"Config key palette: expected at least {num_classes} (r, g, b) "
            f"colours in 0..255, got an array of shape {colours.shape}."
        )
    return colours[:num_classes].astype(np.uint8)


def _inverse_table():
    # Every VOC colour uses only the top three bits of each channel, so a
    # 9-bit key (3 bits per channel) indexes a table back to the palette
    # index; -1 marks keys that no VOC colour has.
    keys = (voc_colormap().astype(np.int64) >> 5) @ np.array([64, 8, 1])
    table = np.full(512, -1, dtype=np.int32)
    table[keys] = np.arange(256, dtype=np.int32)
    return table


_INVERSE_TABLE = _inverse_table()


def voc_colours_to_ids(rgb):
    """Maps VOC palette colours back to their indices.

    Args:
        rgb: uint8 tensor `[..., 3]`.

    Returns:
        `(ids, valid)`: int32 ids `[...]`, and a bool tensor `[...]` that is
        False where the colour is not in the VOC colour map (its id is then
        meaningless).

    Example:
    ```python
    ids, valid = voc_colours_to_ids(tf.io.decode_png(png_bytes, channels=3))
    ```
    """
    rgb = tf.cast(rgb, tf.int32)
    key = tf.reduce_sum(
        tf.bitwise.right_shift(rgb, 5) * tf.constant([64, 8, 1]), axis=-1
    )
    ids = tf.gather(tf.constant(_INVERSE_TABLE), key)
    low_bits = tf.reduce_any(tf.bitwise.bitwise_and(rgb, 31) != 0, axis=-1)
    return ids, tf.logical_and(ids >= 0, tf.logical_not(low_bits))
