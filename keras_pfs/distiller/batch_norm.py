"""Synchronised BatchNormalization statistics while a training step is traced."""

import contextlib

import keras


@contextlib.contextmanager
def synchronized(model, enabled=True):
    """Sets `synchronized` on the model's BatchNormalization layers, then
    puts the user's values back.

    Entered while the training step is traced, so that a model saved during
    or after `fit()` (e.g. by `BestStudentCheckpoint`) keeps the config it
    was built with.

    Args:
        model: the student.
        enabled: compute batch statistics over all replicas; `False`
            leaves every layer as it is.

    Yields:
        Nothing; the layers are restored on exit.
    """
    layers = [
        layer
        # Private Keras API (written against Keras 3.15.1): every layer
        # inside the model, nested ones included.
        for layer in model._flatten_layers(include_self=False)
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
    before = [layer.synchronized for layer in layers]
    for layer in layers:
        layer.synchronized = enabled or layer.synchronized
    try:
        yield
    finally:
        for layer, value in zip(layers, before, strict=True):
            layer.synchronized = value
