"""Training runs: one complete, resumable training or distillation per call."""

from keras_pfs.training.datasets import build_datasets, check_splits
from keras_pfs.training.lock import WorkdirLock
from keras_pfs.training.optimizer import make_optimizer
from keras_pfs.training.run import ROLES, run_identity, train
from keras_pfs.training.workdir import Workdir

__all__ = [
    "ROLES",
    "Workdir",
    "WorkdirLock",
    "build_datasets",
    "check_splits",
    "make_optimizer",
    "run_identity",
    "train",
]
