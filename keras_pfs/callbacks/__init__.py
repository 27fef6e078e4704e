"""Callbacks of the training commands: best model, epoch log, backups,
TensorBoard summaries."""

from keras_pfs.callbacks.backup import WorkerBackup
from keras_pfs.callbacks.checkpoints import (
    BestStudentCheckpoint,
    EpochLog,
    read_epoch_log,
)
from keras_pfs.callbacks.segmentation_summaries import SegmentationSummaries
from keras_pfs.callbacks.student_checkpoint import StudentCheckpoint

__all__ = [
    "BestStudentCheckpoint",
    "EpochLog",
    "SegmentationSummaries",
    "StudentCheckpoint",
    "WorkerBackup",
    "read_epoch_log",
]
