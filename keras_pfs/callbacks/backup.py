"""Per-worker BackupAndRestore whose workers agree on the epoch to resume."""

import json
import os

import keras
import tensorflow as tf


class WorkerBackup(keras.callbacks.BackupAndRestore):
    """`BackupAndRestore` that can roll back to the epoch all workers reached.

    Each worker keeps its own backup (workers sharing a directory collide on
    its files). A kill can land between two workers' saves, leaving one
    worker's backup an epoch ahead of another's; resumed as they are, the
    workers would run different numbers of steps and their collectives would
    fail. `agree(strategy)`, called before `fit()`, rolls every worker back
    to the oldest epoch any of them backed up, using the previous backup
    kept by `double_checkpoint=True`.

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

    def _epoch_in(self, metadata_path):
        try:
            with open(metadata_path) as f:
                return json.load(f)["epoch"]
        except (OSError, ValueError, KeyError):
            return None

    def saved_epoch(self):
        """Epochs finished according to this worker's backup (0: none)."""
        return self._epoch_in(self._training_metadata_path) or 0

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
        if self._epoch_in(self._prev_training_metadata_path) != epoch:
            raise ValueError(
                f"Backup {self.backup_dir} has no state after epoch {epoch}, "
                "where another worker's backup stopped; pass --overwrite to "
                "start again."
            )
        os.replace(self._prev_weights_path, self._weights_path)
        os.replace(self._prev_training_metadata_path, self._training_metadata_path)

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
