"""Does a segmenter fit the data it is about to see?"""


def check_segmenter_fits(model, num_classes, where):
    """Checks a segmenter's input channels and class count against the data.

    A model of another class count still runs on any data (argmax ids are
    in range either way) and gives a meaningless mIoU, so evaluation and
    export check before the first batch.

    Args:
        model: a segmenter from `(B, H, W, 3)` images to logits or
            `{"logits": ...}`.
        num_classes: classes K of the data.
        where: what set `num_classes`, for the message (e.g. `"--num_classes"`).

    Raises:
        ValueError: one line naming the model's input or output shape.

    Example:

    >>> check_segmenter_fits(model, 11, "config key num_classes")  # doctest: +SKIP
    """
    inputs = model.inputs[0].shape if model.inputs else None
    if inputs is not None and inputs[-1] not in (None, 3):
        raise ValueError(
            f"Model {model.name!r} takes inputs of shape {tuple(inputs)}, "
            f"not RGB images (..., 3)."
        )
    output = model.output
    logits = output["logits"] if isinstance(output, dict) else output
    if logits.shape[-1] != num_classes:
        raise ValueError(
            f"Model {model.name!r} predicts {logits.shape[-1]} classes (logits "
            f"{tuple(logits.shape)}) but the data has {num_classes} ({where})."
        )
