"""A training run's work directory: what it holds, resume and overwrite."""

import contextlib
import json
import os
import shutil
import sys

from keras_pfs.run_directory import RunDirectory
from keras_pfs.training.lock import WorkdirLock

# Where --overwrite keeps the previous run until the new one has an epoch.
PREVIOUS_DIR = "previous_run"


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


def _missing_folders(path):
    """The folders `os.makedirs(path)` would create, deepest first."""
    missing = []
    path = os.path.abspath(path)
    while not os.path.lexists(path):
        missing.append(path)
        path = os.path.dirname(path)
    return missing


class Workdir(RunDirectory):
    """The `RunDirectory` of one training run, for one worker of the run.

    A run writes per-worker backups under `backup/`, `best.keras`,
    `epochs.jsonl`, TensorBoard logs in `logs/`, and at the end
    `config.json`, `history.json`, `eval.json`, `run.json` and, last,
    `model.keras`. A directory holding `model.keras` is a finished run; one
    holding `backup/` an unfinished one, which the next run resumes if it
    trains the same thing. `backup/run.json` records what the unfinished run
    trains (config and models), so that a resume with another set-up is
    refused instead of mixing the two; `run.json` beside the model, what the
    finished run trained, for `--extend`.

    Args:
        path: the directory.
        worker: this process's worker index (0 for the chief).

    Example:

    >>> workdir = Workdir("runs/demo/teacher")
    >>> with workdir.lock():  # doctest: +SKIP
    ...     workdir.check_start(identity, overwrite=False)
    """

    # What the unfinished run trains, beside its backups.
    BACKUP_RUN = os.path.join(RunDirectory.BACKUP, RunDirectory.RUN)

    def __init__(self, path, worker=0):
        super().__init__(path)
        self.worker = worker

    def backup_dir(self):
        """This worker's BackupAndRestore directory: one per worker, because
        workers sharing one collide on its files."""
        return self.file(os.path.join(self.BACKUP, f"worker_{self.worker}"))

    def _read_if_present(self, name):
        """The JSON file `name` (see `read`), or None if there is none."""
        return self.read(name) if self.has(name) else None

    @contextlib.contextmanager
    def lock(self):
        """Holds a `WorkdirLock` on the directory (one lock file per worker).

        Creates the directory; folders it created are removed again if the
        run leaves them empty (a command that failed before writing).

        Raises:
            ValueError: the path is a file, or cannot be created.
        """
        created = _missing_folders(self.path)
        try:
            os.makedirs(self.path, exist_ok=True)
        except FileExistsError:
            raise ValueError(
                f"Work directory {self.path} is a file, not a directory (--workdir)."
            ) from None
        except OSError as error:
            raise ValueError(
                f"Work directory {self.path} cannot be created: "
                f"{error.strerror} (--workdir)."
            ) from None
        name = ".lock" if self.worker == 0 else f".lock_worker_{self.worker}"
        try:
            with WorkdirLock(self.file(name)):
                yield
        finally:
            for folder in created:
                try:
                    os.rmdir(folder)
                except OSError:
                    break  # not empty: the run wrote into it

    def check_outside(self, path, what):
        """Refuses an input file that lies among the run's own files.

        A run rewrites them, and `--overwrite` moves and then deletes them:
        a teacher there would be lost, or changed under a resumed run.

        Args:
            path: the input file.
            what: how the error names it, e.g. `"Teacher model"`.

        Raises:
            ValueError: `path` is, or is inside, one of the run's files.
        """
        real = os.path.realpath(path)
        for name in (*self.RUN_FILES, PREVIOUS_DIR):
            owned = os.path.realpath(self.file(name))
            if real == owned or real.startswith(owned + os.sep):
                raise ValueError(
                    f"{what} {path} is part of the run in {self.path} "
                    f"({name}), which the run rewrites and --overwrite "
                    "deletes; copy it out of the work directory first."
                )

    def check_start(self, identity, overwrite, extend=False):
        """Decides how the run starts, before anything is built or removed.

        Args:
            identity: JSON-able dict of what the run trains (config, role,
                models), compared with an unfinished or finished run's.
            overwrite: replace a finished or unfinished run.
            extend: continue the finished or unfinished run here to
                `identity`'s epochs, which must not be fewer than it was set
                to train; nothing else may differ.

        Returns:
            `"new"` (start from scratch), `"resume"` (continue the
            unfinished run as it was) or `"extend"` (continue it, or the
            finished run, to the new epochs).

        Raises:
            ValueError: a finished run is there and neither `overwrite` nor
                `extend` is set, the run trained something else (naming
                what), or there is nothing to extend.
        """
        if overwrite and extend:
            raise ValueError(
                "--overwrite starts again and --extend continues the run: "
                "pass one of them."
            )
        if overwrite:
            return "new"
        finished = os.path.exists(self.model_file)
        unfinished = os.path.isdir(self.file(self.BACKUP))
        if finished and not extend:
            raise ValueError(
                f"{self.model_file} exists (a finished run); pass "
                "--overwrite to replace it, or --extend with more epochs to "
                "train it further."
            )
        if not (finished or unfinished):
            if extend:
                raise ValueError(f"--extend: {self.path} holds no run to extend.")
            return "new"
        current = _plain(identity)
        saved = self._read_if_present(self.BACKUP_RUN)
        if saved is None and finished:
            saved = self._read_if_present(self.RUN)
            if saved is None:
                raise ValueError(
                    f"--extend: {self.path} holds a run finished without "
                    f"{self.RUN} (by an older keras-pfs), so its set-up cannot "
                    "be checked; pass --overwrite to start again."
                )
        if saved is not None and extend:
            self._check_more_epochs(saved, current, finished and not unfinished)
            saved = {**saved, "config": {**saved["config"], "epochs": None}}
            current = {**current, "config": {**current["config"], "epochs": None}}
        differences = _differences(saved or current, current)
        if differences:
            kind = "a run" if extend else "an unfinished run"
            how = (
                "--extend may change only epochs"
                if extend
                else "rerun it as it was to resume"
            )
            raise ValueError(
                f"{self.path} holds {kind} of another set-up: "
                f"{'; '.join(differences)}; {how}, or pass --overwrite to "
                "start again."
            )
        if extend:
            epochs = identity["config"]["epochs"]
            print(f"Extending the run in {self.path} to {epochs} epochs.")
            return "extend"
        print(f"Resuming the unfinished run in {self.path} from its last backup.")
        return "resume"

    def _check_more_epochs(self, saved, current, finished):
        before, now = saved["config"]["epochs"], current["config"]["epochs"]
        if now < before or (finished and now == before):
            raise ValueError(
                f"--extend: the run in {self.path} was set to train {before} "
                f"epochs; set epochs above that (now {now})."
            )

    def finished_epochs(self):
        """Epochs the finished run here trained (0 if there is none)."""
        if not os.path.exists(self.model_file):
            return 0
        finished = self._read_if_present(self.RUN) or {"config": {"epochs": 0}}
        return finished["config"]["epochs"]

    def record_start(self, identity):
        """Writes `identity` beside the backups (chief only)."""
        os.makedirs(self.file(self.BACKUP), exist_ok=True)
        self.write(self.BACKUP_RUN, _plain(identity))

    def record_finish(self, identity):
        """Writes `identity` beside the results, for `--extend` (chief only)."""
        self.write(self.RUN, _plain(identity))

    def set_aside(self):
        """Moves the previous run's files into `previous_run/`.

        They are gathered in `previous_run.partial/` first, so that a kill
        in the middle leaves no `previous_run/` that lacks some of them.

        Returns:
            True if anything was moved.
        """
        aside = self.file(PREVIOUS_DIR)
        if os.path.isdir(aside):
            # A killed earlier --overwrite kept the older run there; what is
            # in the directory now is that attempt's partial state.
            self._remove(self.RUN_FILES, self.path)
            return True
        staging = aside + ".partial"
        present = [n for n in self.RUN_FILES if os.path.lexists(self.file(n))]
        if not present and not os.path.isdir(staging):
            return False
        os.makedirs(staging, exist_ok=True)  # one a kill left: finish its move
        for name in present:
            os.replace(self.file(name), os.path.join(staging, name))
        os.replace(staging, aside)
        print(
            f"Moved the previous run to {aside}; it is deleted once the new run "
            "has finished its first epoch.",
            file=sys.stderr,
        )
        return True

    def restore_aside(self):
        """Puts the set-aside run back, dropping the new run's partial files."""
        aside = self.file(PREVIOUS_DIR)
        staging = aside + ".partial"
        if os.path.isdir(staging):  # stopped while moving: nothing new yet
            self._move_back(staging)
        if os.path.isdir(aside):
            self._remove(self.RUN_FILES, self.path)
            self._move_back(aside)

    def _move_back(self, folder):
        for name in os.listdir(folder):
            os.replace(os.path.join(folder, name), self.file(name))
        os.rmdir(folder)

    def drop_aside(self):
        shutil.rmtree(self.file(PREVIOUS_DIR), ignore_errors=True)

    def remove_backup(self):
        """Removes this worker's backup (and the run record, on the chief)."""
        shutil.rmtree(self.backup_dir(), ignore_errors=True)
        if self.worker == 0:
            self._remove([self.BACKUP_RUN], self.path)
        with contextlib.suppress(OSError):  # other workers' backups remain
            os.rmdir(self.file(self.BACKUP))

    @staticmethod
    def _remove(names, folder):
        for name in names:
            path = os.path.join(folder, name)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            elif os.path.lexists(path):
                os.remove(path)
