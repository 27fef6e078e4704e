"""The Pascal VOC colour map and its inverse.

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
