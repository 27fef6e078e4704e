"""Per-worker BackupAndRestore: safe against kills and full disks, and whose
workers agree on the epoch to resume."""

import io
import json
import os

import h5py
import keras
import tensorflow as tf

# Private Keras API, written against Keras 3.15.1: H5IOStore and _save_state,
# the writer of `save_weights`, here writing to memory (recorded and checked
# in tests/test_keras_private.py).
from keras.src.saving import saving_lib

from keras_pfs.atomic import replace_atomically, write_json_atomically

# Each weights file says which epoch it is from, so that a file and the
# metadata beside it can never disagree after a kill between their renames.
_EPOCH_ATTRIBUTE = "keras_pfs_epoch"


def _weights_file_contents(model, epoch):
    """`model`'s weights and optimizer state as `.weights.h5` bytes.

    Serialised in memory: h5py writing to a full disk leaves HDF5 with a file
    it cannot close, and the process crashes at exit (SIGSEGV); a plain write
    of the bytes fails cleanly instead.
    """
    buffer = io.BytesIO()
    store = saving_lib.H5IOStore(buffer, mode="w")
    saving_lib._save_state(model, store, None, "", set())
    store.h5_file.attrs[_EPOCH_ATTRIBUTE] = epoch
    store.close()
    return buffer.getvalue()


def _write_bytes(contents):
    def write(path):
        with open(path, "wb") as f:
            f.write(contents)
            f.flush()
            os.fsync(f.fileno())

    return write


class WorkerBackup(keras.callbacks.BackupAndRestore):
    """`BackupAndRestore` that survives kills and full disks, and can roll
    back to the epoch all workers reached.

    Built on private parts of Keras 3.15.1's `BackupAndRestore` (its
    `_save_model` hook, file paths and epoch counters) and on
    `Model._initial_epoch`; tests/test_keras_private.py checks them.

    Each save writes the new state beside the old one and renames it into
    place (the previous state is kept as `*.bkp`), so a kill or a full disk
    at any moment leaves a readable backup; a backup that cannot be read is
    skipped for the previous one, and if neither can be read the error names
    both files.

    Each worker keeps its own backup (workers sharing a directory collide on
    its files). A kill can land between two workers' saves, leaving one
    worker's backup an epoch ahead of another's; resumed as they are, the
    workers would run different numbers of steps and their collectives would
    fail. `agree(strategy)`, called before `fit()`, rolls every worker back
    to the oldest epoch any of them backed up, using the previous state.

    Args:
        backup_dir: this worker's backup directory.

    Example:

    >>> backup = WorkerBackup("runs/demo/backup/worker_0")
    >>> backup.agree(strategy)  # doctest: +SKIP
    >>> distiller.fit(train, epochs=10, callbacks=[backup])  # doctest: +SKIP
    """

    def __init__(self, backup_dir):
        # The backup is removed by the caller once the run's results are
        # written, so a kill after fit() still resumes (with no epochs left).
        super().__init__(backup_dir, double_checkpoint=True, delete_checkpoint=False)

    def _states(self):
        """(weights, metadata) of the latest and the previous state."""
        return [
            (self._weights_path, self._training_metadata_path),
            (self._prev_weights_path, self._prev_training_metadata_path),
        ]

    @staticmethod
    def _epoch_in(weights_path, metadata_path):
        try:
            with h5py.File(weights_path, "r") as f:
                return int(f.attrs[_EPOCH_ATTRIBUTE])
        except (OSError, KeyError, ValueError):
            pass  # missing, unreadable, or written before the attribute
        try:
            with open(metadata_path) as f:
                return json.load(f)["epoch"]
        except (OSError, ValueError, KeyError):
            return None

    def saved_epoch(self):
        """Epochs finished according to this worker's backup (0: none)."""
        for weights, metadata in self._states():
            if os.path.exists(weights):
                return self._epoch_in(weights, metadata) or 0
        return 0

    def _make_latest(self, state):
        weights, metadata = state
        if weights != self._weights_path:
            os.replace(weights, self._weights_path)
            if os.path.exists(metadata):
                os.replace(metadata, self._training_metadata_path)

    def on_train_begin(self, logs=None):
        failures = []
        for weights, metadata in self._states():
            if not os.path.exists(weights):
                continue
            epoch = self._epoch_in(weights, metadata)
            # Keras loads only files named `*.weights.h5`: the previous state
            # replaces an unreadable latest one before it is read.
            self._make_latest((weights, metadata))
            try:
                if epoch is None:
                    raise ValueError("no epoch recorded")
                if self.model.optimizer is not None and not self.model.optimizer.built:
                    self.model.optimizer.build(self.model.trainable_variables)
                self.model.load_weights(self._weights_path)
            except (OSError, ValueError) as error:
                failures.append(f"{weights} ({str(error).splitlines()[0]})")
                continue
            self.model._initial_epoch = epoch
            return
        if failures:
            raise ValueError(
                f"The backup in {self.backup_dir} cannot be read: "
                f"{'; '.join(failures)}; pass --overwrite to start again."
            )

    def _save_model(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        contents = _weights_file_contents(self.model, self._current_epoch)
        replace_atomically(
            self._weights_path,
            _write_bytes(contents),
            previous=self._prev_weights_path,
        )
        write_json_atomically(
            {"epoch": self._current_epoch, "batch": self._last_batch_seen},
            self._training_metadata_path,
            previous=self._prev_training_metadata_path,
        )

    def roll_back_to(self, epoch):
        """Makes the backup the one saved after `epoch` epochs.

        Args:
            epoch: the epoch count to resume from; this backup's or the one
                before it.

        Raises:
            ValueError: neither backup is from `epoch`.
        """
        if self.saved_epoch() == epoch:
            return
        previous = self._states()[1]
        if self._epoch_in(*previous) != epoch:
            raise ValueError(
                f"Backup {self.backup_dir} has no state after epoch {epoch}, "
                "where another worker's backup stopped; pass --overwrite to "
                "start again."
            )
        self._make_latest(previous)

    def agree(self, strategy):
        """Rolls back to the oldest epoch any worker of `strategy` backed up.

        Call it on every worker, outside `fit()`: it is a collective.

        Args:
            strategy: the run's `tf.distribute.Strategy`.

        Returns:
            The epoch the run resumes from.
        """
        saved = self.saved_epoch()
        epochs = strategy.gather(
            strategy.run(lambda: tf.constant([saved], "int64")), axis=0
        )
        agreed = int(tf.reduce_min(epochs))
        self.roll_back_to(agreed)
        return agreed
