"""Callbacks of the training commands: best-model checkpoint, epoch log."""

from keras_pfs.callbacks.checkpoints import (
    BestStudentCheckpoint,
    EpochLog,
    read_epoch_log,
    save_model_atomically,
    write_json_atomically,
)

__all__ = [
    "BestStudentCheckpoint",
    "EpochLog",
    "read_epoch_log",
    "save_model_atomically",
    "write_json_atomically",
]
