"""Files a training run writes while it trains, each safe against a kill."""

import json
import math
import os

import keras

from keras_pfs.atomic import save_model_atomically, write_json_atomically


class BestStudentCheckpoint(keras.callbacks.Callback):
    """Saves the Distiller's student whenever `monitor` reaches a new best.

    Writes the student to `path` and `{"epoch", monitor}` to `path + ".json"`,
    both atomically; the JSON is read back at the start of training, so a run
    resumed after a kill keeps the best of all its epochs, not only of the
    epochs after the restart.

    Args:
        path: `.keras` file of the best student.
        monitor: the log to maximise, e.g. `"val_mean_iou"`.
        write: False on processes that must not write (non-chief workers).

    Example:

    >>> distiller.fit(train, validation_data=val, callbacks=[
    ...     BestStudentCheckpoint("runs/demo/best.keras")])  # doctest: +SKIP
    """

    def __init__(self, path, monitor="val_mean_iou", write=True):
        super().__init__()
        self.path = path
        self.monitor = monitor
        self.write = write
        self.best = -math.inf

    def on_train_begin(self, logs=None):
        if os.path.isfile(self.path + ".json"):
            with open(self.path + ".json") as f:
                self.best = json.load(f)[self.monitor]

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            raise ValueError(
                f"BestStudentCheckpoint: no {self.monitor!r} in the epoch logs "
                f"({sorted(logs or {})}); pass validation_data to fit()."
            )
        if value <= self.best:
            return
        self.best = float(value)
        if self.write:
            save_model_atomically(self.model.student, self.path)
            write_json_atomically(
                {"epoch": epoch, self.monitor: self.best}, self.path + ".json"
            )


class EpochLog(keras.callbacks.Callback):
    """Appends each epoch's logs as a JSON line to `path`.

    Unlike `fit()`'s History it survives a restart: a resumed run appends
    to the same file, and `read_epoch_log` rebuilds the whole history.

    Args:
        path: the `.jsonl` file.
        write: False on processes that must not write (non-chief workers).

    Example:

    >>> log = EpochLog("runs/demo/epochs.jsonl")
    >>> distiller.fit(train, callbacks=[log])  # doctest: +SKIP
    """

    def __init__(self, path, write=True):
        super().__init__()
        self.path = path
        self.write = write

    def on_epoch_end(self, epoch, logs=None):
        if not self.write:
            return
        line = {"epoch": epoch, **{k: float(v) for k, v in (logs or {}).items()}}
        with open(self.path, "a") as f:
            f.write(json.dumps(line) + "\n")
            f.flush()
            os.fsync(f.fileno())


def read_epoch_log(path):
    """The history `{name: [value per epoch]}` of an `EpochLog` file.

    An epoch logged twice (a kill after its log line, before its backup, so
    the resumed run repeated it) counts once, with its last values.

    Args:
        path: the `.jsonl` file written by `EpochLog`.

    Returns:
        A dict of lists, in epoch order, with the epoch numbers under
        `"epoch"`.

    Example:

    >>> read_epoch_log("runs/demo/epochs.jsonl")["epoch"]  # doctest: +SKIP
    [0, 1, 2, 3]
    """
    by_epoch = {}
    if os.path.isfile(path):
        with open(path) as f:
            for text in f:
                try:
                    line = json.loads(text)
                except ValueError:
                    continue  # blank, or cut short by a kill mid-write
                by_epoch[line["epoch"]] = line
    history = {}
    for epoch in sorted(by_epoch):
        for name, value in by_epoch[epoch].items():
            history.setdefault(name, []).append(value)
    return history
