"""A training command killed with SIGKILL continues from its last backup.

What this proves: a run killed during an epoch and again during its final
save, restarted with the same command each time, resumes at the epoch after
the last backup (no epoch is skipped or run from scratch, at most the
interrupted one repeated), finishes the configured epochs and ends with a
model that evaluates like an unbroken run of the same seed, within run-to-run
noise; a restart with another config or role is refused. It does not prove
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
from tests.tiny_runs import snapshot

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EPOCHS = 3
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
    # The demo config crops 64x64; these runs use 32x32 images, unaugmented.
    "--set=crop_size=None",
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


# Issue 26: a resume from a truncated backup failed with "bad object header
# version number", naming no file.
def test_an_unreadable_backup_falls_back_to_the_previous_one_or_is_named(tmp_path):
    def model():
        built = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        built.compile("adam", "mse")
        return built

    saving = WorkerBackup(str(tmp_path))
    saving.set_model(model())
    saving.on_epoch_end(0)
    saving.on_epoch_end(1)  # the epoch-1 state becomes the previous one
    latest = tmp_path / "latest.weights.h5"
    latest.write_bytes(latest.read_bytes()[:100])  # truncated
    restoring = WorkerBackup(str(tmp_path))
    restoring.set_model(model())
    restoring.on_train_begin()
    assert restoring.model._initial_epoch == 1
    latest.write_bytes(b"not a backup")
    (tmp_path / "latest.weights.h5.bkp").unlink(missing_ok=True)
    restoring.set_model(model())
    with pytest.raises(
        ValueError, match=rf"backup in {tmp_path} cannot be read: {latest} \("
    ):
        restoring.on_train_begin()


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


def read_json(path):
    with open(path) as f:
        return json.load(f)


# Holds the final save between writing the temporary file and renaming it,
# so that the test can kill the run in the middle of it.
SLOW_SAVE = """
import time
from keras_pfs.training import run

def slow_save(model, path):
    temporary = path[: -len(".keras")] + ".partial.keras"
    model.save(temporary)
    time.sleep(600)

run.save_model_atomically = slow_save
"""


def start(workdir, prelude=""):
    code = (
        f"import sys\n{prelude}\nfrom keras_pfs.cli import train\n"
        f"sys.argv = ['keras-pfs-train', *{COMMAND[3:]!r}, '--workdir={workdir}']\n"
        "train.run()\n"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def kill_when(process, ready, what):
    try:
        deadline = time.monotonic() + 300
        while not ready() and process.poll() is None:
            assert time.monotonic() < deadline, f"{what}: not reached in time"
            time.sleep(0.05)
        assert process.poll() is None, f"the run ended before {what}"
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def run_to_end(workdir, *extra):
    return subprocess.run(
        [*COMMAND, f"--workdir={workdir}", *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_runs_killed_in_an_epoch_and_in_the_final_save_resume_to_the_same_model(
    tmp_path,
):
    reference = str(tmp_path / "reference")
    result = run_to_end(reference)
    assert result.returncode == 0, result.stderr[-3000:]

    workdir = str(tmp_path / "run")
    kill_when(start(workdir), lambda: backed_up_epochs(workdir) >= 1, "epoch 2")
    assert not os.path.exists(os.path.join(workdir, "model.keras"))
    killed_at = backed_up_epochs(workdir)
    logged_before = [line["epoch"] for line in read_lines(f"{workdir}/epochs.jsonl")]

    # Resume only what was started: another role is refused, and nothing of
    # the killed run changes (other config values: tests/test_errors.py).
    before = snapshot(workdir)
    before.pop(".lock")  # the killed run's stale lock, taken over
    refused = run_to_end(workdir, "--role=teacher")
    assert refused.returncode == 2, refused.stderr[-3000:]
    assert "holds an unfinished run of another set-up" in refused.stderr
    assert "role='student' (now 'teacher')" in refused.stderr
    assert snapshot(workdir) == before

    partial = os.path.join(workdir, "model.partial.keras")
    kill_when(
        start(workdir, prelude=SLOW_SAVE), lambda: os.path.exists(partial), "the save"
    )
    assert not os.path.exists(os.path.join(workdir, "model.keras"))
    logged = [line["epoch"] for line in read_lines(f"{workdir}/epochs.jsonl")]

    result = run_to_end(workdir)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Resuming the unfinished run" in result.stdout
    assert "taking over the stale lock" in result.stderr  # left by the kill
    # The last restart had no epoch left to train; the first one began right
    # after the last backed-up epoch: at most the interrupted epoch repeated.
    assert [line["epoch"] for line in read_lines(f"{workdir}/epochs.jsonl")] == logged
    assert logged[len(logged_before) :] == list(range(killed_at, EPOCHS))
    assert logged_before[:killed_at] == list(range(killed_at))
    assert read_json(f"{workdir}/history.json")["epoch"] == list(range(EPOCHS))
    assert not os.path.exists(os.path.join(workdir, "backup"))
    assert not os.path.exists(partial)
    # The model evaluates like the unbroken run's, within run-to-run noise
    # (see the module docstring), and far from an untrained model.
    resumed = read_json(f"{workdir}/eval.json")["miou"]
    unbroken = read_json(f"{reference}/eval.json")["miou"]
    assert abs(resumed - unbroken) < 0.05, (resumed, unbroken)
    model = keras.saving.load_model(os.path.join(workdir, "model.keras"))
    assert model.output["logits"].shape[-1] == 5
