"""A training run's work directory: what it holds, resume and overwrite."""

import contextlib
import json
import os
import shutil
import sys

from keras_pfs.callbacks import write_json_atomically
from keras_pfs.training.lock import WorkdirLock

MODEL_FILE = "model.keras"
BEST_FILE = "best.keras"
EPOCH_LOG = "epochs.jsonl"
BACKUP_DIR = "backup"
# Where --overwrite keeps the previous run until the new one has an epoch.
PREVIOUS_DIR = "previous_run"
# Beside the backups: what the unfinished run trains, so that a resume with
# another config or model is refused instead of mixing the two.
RUN_FILE = "run.json"
# Everything a run writes; what --overwrite sets aside.
RUN_FILES = (
    BACKUP_DIR,
    "logs",
    EPOCH_LOG,
    BEST_FILE,
    BEST_FILE + ".json",
    "config.json",
    "history.json",
    "eval.json",
    MODEL_FILE,
)


def _plain(value):
    """`value` as it reads back from JSON (tuples become lists)."""
    return json.loads(json.dumps(value))


def _differences(saved, current):
    lines = []
    for key in sorted(set(saved) | set(current)):
        if key == "config":
            lines += _differences(saved.get(key, {}), current.get(key, {}))
        elif saved.get(key) != current.get(key):
            lines.append(f"{key}={saved.get(key)!r} (now {current.get(key)!r})")
    return lines


class Workdir:
    """The files of one training run, for one worker of the run.

    A run writes per-worker backups under `backup/`, `best.keras`,
    `epochs.jsonl`, TensorBoard logs in `logs/`, and at the end
    `config.json`, `history.json`, `eval.json` and, last, `model.keras`.
    A directory holding `model.keras` is a finished run; one holding
    `backup/` an unfinished one, which the next run resumes if it trains
    the same thing (`backup/run.json` records the config and models).

    Args:
        path: the directory.
        worker: this process's worker index (0 for the chief).

    Example:

    >>> workdir = Workdir("runs/demo/teacher")
    >>> with workdir.lock():  # doctest: +SKIP
    ...     workdir.check_start(identity, overwrite=False)
    """

    def __init__(self, path, worker=0):
        if not path:
            raise ValueError("A work directory is required (--workdir).")
        self.path = path
        self.worker = worker

    def file(self, name):
        return os.path.join(self.path, name)

    def backup_dir(self):
        """This worker's BackupAndRestore directory: one per worker, because
        workers sharing one collide on its files."""
        return os.path.join(self.path, BACKUP_DIR, f"worker_{self.worker}")

    def lock(self):
        """A `WorkdirLock` on the directory (one lock file per worker)."""
        os.makedirs(self.path, exist_ok=True)
        name = ".lock" if self.worker == 0 else f".lock_worker_{self.worker}"
        return WorkdirLock(self.file(name))

    def check_start(self, identity, overwrite):
        """Decides how the run starts, before anything is built or removed.

        Args:
            identity: JSON-able dict of what the run trains (config, role,
                models), compared with an unfinished run's.
            overwrite: replace a finished or unfinished run.

        Returns:
            True when the run resumes an unfinished run from its backup.

        Raises:
            ValueError: a finished run is there and `overwrite` is False, or
                the unfinished run trained something else (naming what).
        """
        if overwrite:
            return False
        if os.path.exists(self.file(MODEL_FILE)):
            raise ValueError(
                f"{self.file(MODEL_FILE)} exists (a finished run); pass "
                "--overwrite to replace it."
            )
        if not os.path.isdir(self.file(BACKUP_DIR)):
            return False
        saved_path = os.path.join(self.file(BACKUP_DIR), RUN_FILE)
        if os.path.isfile(saved_path):
            with open(saved_path) as f:
                saved = json.load(f)
            differences = _differences(saved, _plain(identity))
            if differences:
                raise ValueError(
                    f"{self.path} holds an unfinished run of another set-up: "
                    f"{'; '.join(differences)}; rerun it as it was to resume, "
                    "or pass --overwrite to start again."
                )
        print(f"Resuming the unfinished run in {self.path} from its last backup.")
        return True

    def record_start(self, identity):
        """Writes `identity` beside the backups (chief only)."""
        os.makedirs(self.file(BACKUP_DIR), exist_ok=True)
        write_json_atomically(
            _plain(identity), os.path.join(self.file(BACKUP_DIR), RUN_FILE)
        )

    def set_aside(self):
        """Moves the previous run's files into `previous_run/`.

        Returns:
            True if anything was moved.
        """
        aside = self.file(PREVIOUS_DIR)
        if os.path.isdir(aside):
            # A killed earlier --overwrite kept the older run there; what is
            # in the directory now is that attempt's partial state.
            self._remove(RUN_FILES, self.path)
            return True
        present = [n for n in RUN_FILES if os.path.lexists(self.file(n))]
        if not present:
            return False
        os.makedirs(aside)
        for name in present:
            os.replace(self.file(name), os.path.join(aside, name))
        print(
            f"Moved the previous run to {aside}; it is deleted once the new run "
            "has finished its first epoch.",
            file=sys.stderr,
        )
        return True

    def restore_aside(self):
        """Puts the set-aside run back, dropping the new run's partial files."""
        aside = self.file(PREVIOUS_DIR)
        if not os.path.isdir(aside):
            return
        self._remove(RUN_FILES, self.path)
        for name in os.listdir(aside):
            os.replace(os.path.join(aside, name), self.file(name))
        os.rmdir(aside)

    def drop_aside(self):
        shutil.rmtree(self.file(PREVIOUS_DIR), ignore_errors=True)

    def remove_backup(self):
        """Removes this worker's backup (and the run record, on the chief)."""
        shutil.rmtree(self.backup_dir(), ignore_errors=True)
        if self.worker == 0:
            self._remove([RUN_FILE], self.file(BACKUP_DIR))
        with contextlib.suppress(OSError):  # other workers' backups remain
            os.rmdir(self.file(BACKUP_DIR))

    @staticmethod
    def _remove(names, folder):
        for name in names:
            path = os.path.join(folder, name)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            elif os.path.lexists(path):
                os.remove(path)
