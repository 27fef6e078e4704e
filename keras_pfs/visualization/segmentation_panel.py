"""PNG panels comparing teacher, baseline and distilled predictions."""

import numpy as np

from keras_pfs.data.palette import class_palette
from keras_pfs.losses.pixel_similarity import unit_pixels
from keras_pfs.losses.weighted_imitation import knowledge_gap_weights


def colorize(labels, palette, ignore_class):
    """Class ids `(H, W)` to RGB; void and out-of-range ids are black."""
    labels = np.asarray(labels)
    valid = (labels >= 0) & (labels < len(palette)) & (labels != ignore_class)
    out = np.zeros((*labels.shape, 3), np.uint8)
    out[valid] = palette[labels[valid]]
    return out


def heatmap(values, size):
    """Values scaled to [0, 1] as a black-red-yellow image of `size`."""
    values = np.asarray(values, np.float64)
    span = values.max() - values.min()
    v = (values - values.min()) / span if span > 0 else np.zeros_like(values)
    rows = np.arange(size[0]) * v.shape[0] // size[0]
    cols = np.arange(size[1]) * v.shape[1] // size[1]
    v = v[rows][:, cols]
    rgb = np.stack([np.clip(2 * v, 0, 1), np.clip(2 * v - 1, 0, 1), 0 * v], -1)
    return (255 * rgb).astype(np.uint8)


def similarity_map(features, pixel):
    """Cosine similarity of one feature pixel `(row, col)` to every pixel."""
    unit = np.asarray(unit_pixels(np.asarray(features)[None]))[0]
    h, w = np.asarray(features).shape[:2]
    return (unit @ unit[pixel[0] * w + pixel[1]]).reshape(h, w)


def segmentation_panel(
    image,
    label,
    outputs,
    num_classes,
    ignore_class,
    teacher="teacher",
    student="distilled",
    palette=None,
):
    """One row of tiles: input, truth, each model's prediction, then the
    knowledge-gap weights and one pixel's PFS similarity map for teacher and
    student (the pixel, marked white, is where the gap is largest).

    Args:
        image: `(H, W, 3)` 0..255.
        label: `(H, W)` class ids.
        outputs: `{name: {"logits": (H, W, K), "features": (h, w, C)}}` in
            display order; must contain `teacher` and `student`.
        num_classes: K.
        ignore_class: void id.
        teacher: key of the teacher in `outputs`.
        student: key of the distilled student in `outputs`.
        palette: the dataset's class colours (see
            `keras_pfs.data.class_palette`); `None`: a generic palette.

    Returns:
        `(H, W * (4 + len(outputs)), 3)` uint8 image.

    Example:

    >>> panel = segmentation_panel(img, lbl, outs, 11, 11)  # doctest: +SKIP
    """
    size = np.asarray(label).shape
    palette = class_palette(num_classes, palette)
    tiles = [np.clip(image, 0, 255).astype(np.uint8), colorize(label, palette, -1)]
    for out in outputs.values():
        tiles.append(colorize(np.argmax(out["logits"], -1), palette, ignore_class))
    mask = (np.asarray(label) != ignore_class).astype("float32")
    weights = np.asarray(
        knowledge_gap_weights(
            outputs[teacher]["logits"][None],
            outputs[student]["logits"][None],
            mask[None],
        )
    )[0]
    tiles.append(heatmap(weights, size))
    grid = np.asarray(outputs[teacher]["features"]).shape[:2]
    gap_on_grid = weights[(np.arange(grid[0]) * size[0]) // grid[0]][
        :, (np.arange(grid[1]) * size[1]) // grid[1]
    ]
    pixel = np.unravel_index(np.argmax(gap_on_grid), grid)
    for name in (teacher, student):
        features = np.asarray(outputs[name]["features"])
        if features.shape[:2] != grid:
            # Nearest sampling onto the teacher grid, enough for a picture.
            rows = np.arange(grid[0]) * features.shape[0] // grid[0]
            cols = np.arange(grid[1]) * features.shape[1] // grid[1]
            features = features[rows][:, cols]
        tile = heatmap(similarity_map(features, pixel), size)
        r = int((pixel[0] + 0.5) * size[0] / grid[0])
        c = int((pixel[1] + 0.5) * size[1] / grid[1])
        tile[max(r - 1, 0) : r + 2, max(c - 1, 0) : c + 2] = 255
        tiles.append(tile)
    return np.concatenate(tiles, axis=1)
