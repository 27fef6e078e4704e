"""Bridges to other Keras APIs: our losses inside `keras.distillation`."""

from keras_pfs.interop.keras_distillation import KerasDistillationLoss

__all__ = ["KerasDistillationLoss"]
