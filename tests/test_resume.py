"""A training command killed with SIGKILL continues from its last backup.

What this proves: the restarted command resumes at the epoch after the last
backup (no epoch is skipped or run from scratch) and finishes the configured
epochs, with metrics continuing the interrupted run's. It does not prove
that the final weights equal an unbroken run's, and they do not: on this CPU
build two unbroken runs in one process already differ (first-epoch loss in
the 7th digit, weights by ~1e-3 after 16 steps, also with
`tf.config.experimental.enable_op_determinism()`), and the data pipeline
draws each epoch's shuffle from a per-process counter, so the restarted
process sees other orders than an unbroken run from the restored epoch on.
"""

import json
import os
import signal
import subprocess
import sys
import time

import keras
import pytest

from keras_pfs.callbacks import (
    BestStudentCheckpoint,
    EpochLog,
    WorkerBackup,
    read_epoch_log,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EPOCHS = 4
COMMAND = [
    sys.executable,
    "-m",
    "keras_pfs.cli.train",
    "--config",
    os.path.join(ROOT, "configs", "synthetic.py"),
    "--role=student",
    "--set=num_train_images=32",
    "--set=num_val_images=16",
    "--set=image_size=(32, 32)",
    "--set=batch_size=8",
    f"--set=epochs={EPOCHS}",
]


def test_the_epoch_log_keeps_the_last_run_of_a_repeated_epoch(tmp_path):
    path = str(tmp_path / "epochs.jsonl")
    log = EpochLog(path)
    for epoch, loss in [(0, 3.0), (1, 2.0), (1, 1.5), (2, 1.0)]:
        log.on_epoch_end(epoch, {"loss": loss})
    with open(path, "a") as f:
        f.write('{"epoch": 3, "lo')  # a kill mid-write
    assert read_epoch_log(path) == {"epoch": [0, 1, 2], "loss": [3.0, 1.5, 1.0]}


def test_the_best_checkpoint_remembers_its_best_across_restarts(tmp_path):
    path = str(tmp_path / "best.keras")
    model = keras.Model()
    model.student = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    first = BestStudentCheckpoint(path)
    first.set_model(model)
    first.on_train_begin()
    first.on_epoch_end(0, {"val_mean_iou": 0.5})
    saved = os.path.getmtime(path)
    restarted = BestStudentCheckpoint(path)
    restarted.set_model(model)
    restarted.on_train_begin()
    restarted.on_epoch_end(1, {"val_mean_iou": 0.4})  # worse: not saved
    assert os.path.getmtime(path) == saved
    with open(path + ".json") as f:
        assert json.load(f) == {"epoch": 0, "val_mean_iou": 0.5}
    with pytest.raises(ValueError, match="no 'val_mean_iou' in the epoch logs"):
        restarted.on_epoch_end(2, {"mean_iou": 0.9})


def test_a_worker_ahead_rolls_back_to_the_epoch_all_workers_reached(tmp_path):
    # A kill between two workers' end-of-epoch saves: this worker backed up
    # epoch 2, another only epoch 1 (checked with two real workers by hand).
    backup = WorkerBackup(str(tmp_path))
    for suffix, epoch in [(".bkp", 1), ("", 2)]:
        with open(str(tmp_path / f"latest.weights.h5{suffix}"), "w") as f:
            f.write(f"weights after epoch {epoch}")
        with open(str(tmp_path / f"training_metadata.json{suffix}"), "w") as f:
            json.dump({"epoch": epoch, "batch": 0}, f)
    assert backup.saved_epoch() == 2
    with pytest.raises(ValueError, match="no state after epoch 0.*--overwrite"):
        backup.roll_back_to(0)
    backup.roll_back_to(1)
    assert backup.saved_epoch() == 1
    with open(str(tmp_path / "latest.weights.h5")) as f:
        assert f.read() == "weights after epoch 1"


def backed_up_epochs(workdir):
    path = os.path.join(workdir, "backup", "worker_0", "training_metadata.json")
    try:
        with open(path) as f:
            return json.load(f)["epoch"]
    except (OSError, ValueError):
        return 0  # not written yet, or caught mid-write


def read_lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


@pytest.mark.slow
def test_a_killed_run_resumes_from_its_backup(tmp_path):
    workdir = str(tmp_path / "run")
    command = [*COMMAND, f"--workdir={workdir}"]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 150
        while backed_up_epochs(workdir) < 2 and process.poll() is None:
            assert time.monotonic() < deadline, "no backup of epoch 2 in time"
            time.sleep(0.1)
        assert process.poll() is None, "the run ended before it could be killed"
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert not os.path.exists(os.path.join(workdir, "model.keras"))
    killed_at = backed_up_epochs(workdir)
    before = read_lines(os.path.join(workdir, "epochs.jsonl"))

    result = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Resuming the unfinished run" in result.stdout
    after = read_lines(os.path.join(workdir, "epochs.jsonl"))[len(before) :]
    # The restart began right after the last backed-up epoch and ran the rest.
    assert [line["epoch"] for line in after] == list(range(killed_at, EPOCHS))
    with open(os.path.join(workdir, "history.json")) as f:
        history = json.load(f)
    assert history["epoch"] == list(range(EPOCHS))
    # Training continued from the restored weights, not from a fresh model:
    # the first resumed epoch trains better than the run's first epoch did.
    assert history["loss"][killed_at] < history["loss"][0]
    assert os.path.isfile(os.path.join(workdir, "model.keras"))
    assert os.path.isfile(os.path.join(workdir, "best.keras"))
    assert not os.path.exists(os.path.join(workdir, "backup"))

    again = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert again.returncode != 0
    assert "exists (a finished run); pass --overwrite" in again.stderr
