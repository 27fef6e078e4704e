"""keras-pfs: distil semantic-segmentation networks with pixel-wise feature
similarities (Shan, 2019) in Keras 3 / TensorFlow."""

import importlib
import os
import sys

# The Distiller's train_step is written with tf.GradientTape.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

__version__ = "0.1.0"

__all__ = [
    "Distiller",
    "callbacks",
    "config",
    "data",
    "distribute",
    "export",
    "interop",
    "losses",
    "metrics",
    "models",
    "training",
    "visualization",
]


def _started_as_command():
    """Whether this process is one of our commands: `keras-pfs-train`, or
    `python -m keras_pfs.cli.train` (whose `sys.argv[0]` is `"-m"` while
    the module is being found, which is when this package is imported)."""
    program = os.path.basename(sys.argv[0])
    if program == "-m":
        options = sys.orig_argv[1:]
        program = next(
            (options[i + 1] for i, o in enumerate(options[:-1]) if o == "-m"), ""
        )
    return program.startswith(("keras-pfs-", "keras_pfs.cli"))


if _started_as_command():
    # The commands start TensorFlow without its C++ start-up messages, which
    # must happen before the imports below load it.
    importlib.import_module("keras_pfs.cli")

# Imported here, not on first use, because importing them registers every
# Keras class the package saves: after `import keras_pfs`,
# `keras.saving.load_model` loads any model or Distiller checkpoint of ours.
from keras_pfs import interop, losses, metrics, models  # noqa: E402
from keras_pfs.distiller import Distiller  # noqa: E402


def __getattr__(name):
    # The other subpackages load on first use: `training` and `data` pull in
    # tensorflow-datasets, slow to import and needed by no saved model.
    if name in __all__:
        return importlib.import_module(f"keras_pfs.{name}")
    raise AttributeError(f"module 'keras_pfs' has no attribute {name!r}")
