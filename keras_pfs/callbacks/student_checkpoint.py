"""Keras's `ModelCheckpoint`, saving the Distiller's student alone."""

import keras


class StudentCheckpoint(keras.callbacks.ModelCheckpoint):
    """`keras.callbacks.ModelCheckpoint` that saves `distiller.student`.

    Given to a `keras_pfs.Distiller`'s `fit()`, a plain `ModelCheckpoint`
    saves the whole Distiller: the teacher (usually most of the file) and
    the optimizer state too. This one writes the student alone, a model
    that loads with `keras.saving.load_model` after `import keras_pfs`,
    with every option of `ModelCheckpoint` (`{epoch}` in the path,
    `monitor`, `mode`, `save_best_only`, `save_weights_only`,
    `save_freq`). To resume an interrupted `fit()`, add
    `keras.callbacks.BackupAndRestore`.

    Args:
        filepath: `.keras` file (`.weights.h5` with `save_weights_only`).
        **kwargs: the other arguments of `keras.callbacks.ModelCheckpoint`.

    Example:

    >>> best = StudentCheckpoint(
    ...     "best.keras", monitor="val_mean_iou", mode="max", save_best_only=True
    ... )
    >>> distiller.fit(train, validation_data=val, callbacks=[best])  # doctest: +SKIP
    """

    def set_model(self, model):
        student = getattr(model, "student", None)
        if student is None:
            raise ValueError(
                f"StudentCheckpoint: {model.name!r} has no student; it checkpoints "
                "a keras_pfs.Distiller. Use keras.callbacks.ModelCheckpoint for "
                "other models."
            )
        super().set_model(student)
