"""Callbacks of the training commands: best model, epoch log, backups."""

from keras_pfs.callbacks.backup import WorkerBackup
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
    "WorkerBackup",
    "read_epoch_log",
    "save_model_atomically",
    "write_json_atomically",
]
