"""keras-pfs: distil semantic-segmentation networks with pixel-wise feature
similarities (Shan, 2019) in Keras 3 / TensorFlow."""

import importlib
import os

# The Distiller's train_step is written with tf.GradientTape.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

__version__ = "0.1.0"

__all__ = ["Distiller", "losses", "metrics", "models"]


def __getattr__(name):
    # Loaded on first use, so that `keras_pfs.cli` can set TensorFlow's log
    # level before anything imports TensorFlow.
    if name == "Distiller":
        return importlib.import_module("keras_pfs.distiller").Distiller
    if name in __all__:
        return importlib.import_module(f"keras_pfs.{name}")
    raise AttributeError(f"module 'keras_pfs' has no attribute {name!r}")
