"""Loading a segmenter saved as a `.keras` file, with errors naming the file."""

import os
import zipfile

import keras


def load_keras_file(path):
    """Loads a model saved with `model.save("....keras")`.

    Args:
        path: the `.keras` file.

    Returns:
        The `keras.Model`.

    Raises:
        ValueError: the file does not exist or is not a `.keras` archive.

    Example:

    >>> model = load_keras_file("runs/demo/teacher/model.keras")  # doctest: +SKIP
    """
    if not os.path.isfile(path):
        raise ValueError(f"Model file {path} does not exist.")
    # Keras reports any unreadable archive as "File not found".
    if not zipfile.is_zipfile(path):
        raise ValueError(
            f"Model file {path} is not a valid .keras file (not a zip archive)."
        )
    return keras.saving.load_model(path)
