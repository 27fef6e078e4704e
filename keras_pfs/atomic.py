"""Files written whole or not at all: a temporary file, then a rename.

Every file keras-pfs writes that a kill or a full disk could leave half
written (models, JSON records, cell results, comparison tables) goes
through this module.
"""

import contextlib
import json
import os


def replace_atomically(path, write, temporary=None, previous=None):
    """Writes `path` through a temporary file and a rename.

    A kill or a failure (a full disk) never leaves half a file where a good
    one was: the temporary file is removed and `path` is left as it was.

    Args:
        path: the file to write.
        write: `write(temporary)` writes the new contents to `temporary`.
        temporary: where `write` writes; default `path + ".partial"`.
        previous: if given, the old `path` is moved here just before the
            new one takes its place (a kill in between leaves only
            `previous`).

    Example:

    >>> def write(temporary):
    ...     with open(temporary, "w") as f:
    ...         f.write("hello")
    >>> replace_atomically("notes.txt", write)  # doctest: +SKIP
    """
    temporary = temporary or path + ".partial"
    try:
        write(temporary)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        if isinstance(error, OSError) and error.errno and not error.filename:
            # A full disk often shows at close(), in an error naming no file.
            raise OSError(error.errno, os.strerror(error.errno), path) from error
        raise
    if previous and os.path.exists(path):
        os.replace(path, previous)
    os.replace(temporary, path)


def save_model_atomically(model, path):
    """Saves `model` to `path` (`.keras`) through a temporary file.

    The rename is atomic, so a kill never leaves half a model where a good
    one was.

    Args:
        model: a Keras model.
        path: the `.keras` file to write.

    Example:

    >>> save_model_atomically(student, "runs/demo/best.keras")  # doctest: +SKIP
    """
    replace_atomically(
        path, model.save, temporary=path[: -len(".keras")] + ".partial.keras"
    )


def write_json_atomically(payload, path, previous=None, indent=2):
    """Writes `payload` as JSON to `path` through a temporary file.

    Args:
        payload: a JSON-serialisable object.
        path: the file to write.
        previous: if given, where the old `path` is kept (see
            `replace_atomically`).
        indent: `json.dump`'s indent.

    Example:

    >>> write_json_atomically({"miou": 0.5}, "runs/demo/eval.json")  # doctest: +SKIP
    """

    def write(temporary):
        with open(temporary, "w") as f:
            json.dump(payload, f, indent=indent)

    replace_atomically(path, write, previous=previous)


def write_text_atomically(text, path):
    """Writes the string `text` to `path` through a temporary file.

    Example:

    >>> write_text_atomically("| row | mIoU |\n", "table.md")  # doctest: +SKIP
    """

    def write(temporary):
        with open(temporary, "w") as f:
            f.write(text)

    replace_atomically(path, write)
