"""A run directory: the files one training run leaves, named in one place.

Training writes them (`keras_pfs.training.Workdir` adds the resume, lock
and overwrite rules on top), and export, evaluation, comparisons and the
benchmarks read them through this class, never by file-name literals.
"""

import json
import os

from keras_pfs.atomic import write_json_atomically


class RunDirectory:
    """The files of one run and their readers and writers.

    A finished run holds `config.json` (the `ExperimentConfig` as a dict),
    `history.json` (per-epoch logs as lists), `eval.json` (the held-out
    evaluation), `run.json` (what it trained: role, preset, teacher, config)
    and, written last, `model.keras` (the final student). While training it
    also keeps `best.keras` (+ `best.keras.json`), `epochs.jsonl`, TensorBoard
    logs in `logs/` and backups in `backup/`.

    Args:
        path: the directory.

    Example:

    >>> run = RunDirectory("runs/demo/distilled/seed0")
    >>> run.is_finished()  # doctest: +SKIP
    True
    >>> run.read_eval()["miou"]  # doctest: +SKIP
    0.52
    """

    CONFIG = "config.json"
    HISTORY = "history.json"
    EVAL = "eval.json"
    RUN = "run.json"
    MODEL = "model.keras"
    BEST = "best.keras"
    EPOCH_LOG = "epochs.jsonl"
    LOGS = "logs"
    BACKUP = "backup"
    # Everything a run writes: what an overwrite sets aside.
    RUN_FILES = (
        BACKUP,
        RUN,
        LOGS,
        EPOCH_LOG,
        BEST,
        BEST + ".json",
        CONFIG,
        HISTORY,
        EVAL,
        MODEL,
    )

    def __init__(self, path):
        if not path:
            raise ValueError("A work directory is required (--workdir).")
        self.path = path

    def file(self, name):
        """The path of `name` inside the directory."""
        return os.path.join(self.path, name)

    @property
    def model_file(self):
        return self.file(self.MODEL)

    @property
    def best_file(self):
        return self.file(self.BEST)

    @property
    def logs_dir(self):
        return self.file(self.LOGS)

    def has(self, name):
        """Whether the run holds the file `name`."""
        return os.path.isfile(self.file(name))

    def is_finished(self):
        """Whether the run wrote its final model (it is written last)."""
        return self.has(self.MODEL)

    def read(self, name):
        """The JSON file `name` of the run, as a dict.

        Raises:
            ValueError: the file is missing or not JSON, naming it.
        """
        path = self.file(name)
        if not os.path.isfile(path):
            raise ValueError(f"{path} does not exist: is {self.path} a finished run?")
        with open(path) as f:
            try:
                return json.load(f)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}: not JSON ({error}).") from None

    def read_config(self):
        return self.read(self.CONFIG)

    def read_history(self):
        return self.read(self.HISTORY)

    def read_eval(self):
        return self.read(self.EVAL)

    def read_run(self):
        return self.read(self.RUN)

    def write(self, name, payload):
        """Writes the JSON file `name` atomically."""
        write_json_atomically(payload, self.file(name))
