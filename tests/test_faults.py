"""Faults during a run (issue 26): a full disk, SIGTERM and SIGINT, a worker
that never starts. Each stops the command with one line and loses nothing;
cases the machine cannot stage (no tmpfs mount) are skipped with the reason.
"""

import contextlib
import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from keras_pfs.callbacks import WorkerBackup
from tests.tiny_runs import (
    ROOT,
    TINY_FLAGS,
    fake_finished_run,
    fill_disk,
    snapshot,
    tmpfs,
)

TINY_RUN = [*TINY_FLAGS, "--role=student"]


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB tmpfs."""
    (tmp_path / "disk").mkdir()
    with tmpfs(tmp_path / "disk", "size=2m") as mount:
        yield mount


@contextlib.contextmanager
def started(log_dir, *args, env=()):
    """Runs keras-pfs-train with `args` for the `with` block (stderr goes
    to a file, to poll); kills what is left of it at the end."""
    with open(os.path.join(log_dir, "stderr.txt"), "w+") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "keras_pfs.cli.train", *TINY_RUN, *args],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log,
            text=True,
            env={**os.environ, **dict(env)},
            start_new_session=True,
        )
        process.log = log
        try:
            yield process
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def run_train(*args, env=()):
    """Runs keras-pfs-train with `args` to its end."""
    return subprocess.run(
        [sys.executable, "-m", "keras_pfs.cli.train", *TINY_RUN, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **dict(env)},
    )


def wait_until(process, ready, what, seconds=120):
    deadline = time.monotonic() + seconds
    while not ready():
        assert process.poll() is None, f"ended before {what}: {stderr(process)}"
        assert time.monotonic() < deadline, f"{what}: not reached in time"
        time.sleep(0.05)


def stderr(process):
    process.log.seek(0)
    return process.log.read()


def ended_within(process, seconds):
    """The exit status, failing the test if it takes longer."""
    try:
        return process.wait(seconds)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running {seconds} s after the signal")


def error_lines(text):
    assert "Traceback" not in text, text[-3000:]
    return [line for line in text.splitlines() if line.startswith("error:")]


def small_model():
    """A model with its optimizer state, as a run's backup holds them."""
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(256)])
    model.compile("adam", "mse")
    model.optimizer.build(model.trainable_variables)
    return model


def save_on_a_full_disk(disk, backup, epoch):
    """The errno of saving after `epoch` on a full disk, and the files left."""
    fill_disk(disk)
    try:
        with pytest.raises(OSError) as raised:
            backup.on_epoch_end(epoch)
    finally:
        os.remove(disk / "filler")
    return raised.value.errno, sorted(os.listdir(backup.backup_dir))


# Bad case 5: h5py writing the backup to a full disk left it truncated (and
# HDF5 a file it could not close: a crash at exit).
def test_a_full_disk_leaves_no_half_backup_and_keeps_the_last_one(small_disk):
    folder = small_disk / "backup"
    folder.mkdir()
    model = small_model()
    backup = WorkerBackup(str(folder))
    backup.set_model(model)
    assert save_on_a_full_disk(small_disk, backup, 0) == (errno.ENOSPC, [])
    backup.on_epoch_end(0)
    saved = model.get_weights()
    model.layers[0].kernel.assign(model.layers[0].kernel + 1.0)
    assert save_on_a_full_disk(small_disk, backup, 1) == (
        errno.ENOSPC,
        ["latest.weights.h5", "training_metadata.json"],
    )
    restored = small_model()
    restore = WorkerBackup(str(folder))
    restore.set_model(restored)
    restore.on_train_begin()
    assert restored._initial_epoch == 1
    for a, b in zip(saved, restored.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_disk_full_during_overwrite_puts_the_previous_run_back(small_disk):
    workdir = str(small_disk / "run")
    before = fake_finished_run(workdir)
    fill_disk(small_disk, free_pages=1)  # room for the lock file only
    result = run_train(f"--workdir={workdir}", "--overwrite")
    assert result.returncode == 2, result.stderr[-3000:]
    (line,) = error_lines(result.stderr)
    assert f"No space left on device: {workdir}/" in line
    assert "nothing was lost" in line
    assert snapshot(workdir) == before


# Weak case: SIGTERM during --overwrite, before the first epoch ended,
# left the previous run in previous_run/.
def test_sigterm_before_the_first_epoch_puts_the_previous_run_back(tmp_path):
    workdir = str(tmp_path / "run")
    before = fake_finished_run(workdir)
    aside = os.path.join(workdir, "previous_run")
    with started(tmp_path, f"--workdir={workdir}", "--overwrite") as process:
        wait_until(process, lambda: os.path.isdir(aside), "the run set aside")
        assert_stopped_by(process, signal.SIGTERM)
    assert snapshot(workdir) == before  # lock released, nothing left aside


def assert_stopped_by(process, stop):
    """Sends `stop`; the command must end within a minute with its one line."""
    process.send_signal(stop)
    assert ended_within(process, 60) == 128 + stop
    assert f"stopped by {stop.name}" in stderr(process)
    error_lines(stderr(process))


def test_sigint_while_training_stops_promptly_and_the_run_resumes(tmp_path):
    workdir = str(tmp_path / "run")
    epochs = os.path.join(workdir, "epochs.jsonl")
    with started(tmp_path, f"--workdir={workdir}", "--set=epochs=8") as process:
        wait_until(process, lambda: os.path.isfile(epochs), "the first epoch")
        assert_stopped_by(process, signal.SIGINT)
    with open(epochs) as f:
        done = len(f.readlines())
    assert 1 <= done < 8 and not os.path.exists(os.path.join(workdir, "model.keras"))
    # The lock is released and the backup readable: the same command resumes
    # and finishes the epochs that were left.
    resumed = run_train(f"--workdir={workdir}", "--set=epochs=8")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    # An epoch cut off after its log line but before its backup is redone;
    # the history keeps each epoch once.
    with open(os.path.join(workdir, "history.json")) as f:
        assert json.load(f)["epoch"] == list(range(8))
    assert os.path.isfile(os.path.join(workdir, "model.keras"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def two_worker_cluster():
    """TF_CONFIG of worker 0 in a cluster whose worker 1 never starts."""
    workers = [f"localhost:{free_port()}", f"localhost:{free_port()}"]
    cluster = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": 0}}
    return json.dumps(cluster), workers[1]


# Bad case 4: a missing worker hung the run silently, for good.
def test_a_worker_that_never_starts_is_named_after_the_wait(tmp_path):
    tf_config, missing = two_worker_cluster()
    workdir = str(tmp_path / "run")
    result = run_train(
        f"--workdir={workdir}",
        "--strategy=multi_worker",
        "--set=peer_wait_seconds=2",
        env={"TF_CONFIG": tf_config},
    )
    assert result.returncode == 2, result.stderr[-3000:]
    (line,) = error_lines(result.stderr)
    assert f"worker 1 ({missing}) of TF_CONFIG did not start within 2 s" in line
    assert not os.path.exists(workdir)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_ends_the_wait_for_workers_at_once(tmp_path, stop):
    tf_config, _ = two_worker_cluster()
    with started(
        tmp_path,
        f"--workdir={tmp_path / 'run'}",
        "--strategy=multi_worker",
        env={"TF_CONFIG": tf_config},
    ) as process:
        waiting = "Waiting up to 600 s for worker 1"
        wait_until(process, lambda: waiting in stderr(process), "the wait")
        process.send_signal(stop)
        assert ended_within(process, 10) == 128 + stop
        assert f"stopped by {stop.name}" in stderr(process)


# TensorFlow's coordination agent takes SIGTERM over while the strategy is
# made, and only notes it: a worker told to stop trained on.
SIGTERM_AFTER_STRATEGY = """
import json, os, signal
received = []
signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
os.environ["TF_CONFIG"] = json.dumps(
    {"cluster": {"worker": ["localhost:%d"]}, "task": {"type": "worker", "index": 0}}
)
from keras_pfs.distribute import get_strategy
get_strategy("multi_worker")
os.kill(os.getpid(), signal.SIGTERM)
print(json.dumps({"received": received}))
"""


def test_sigterm_reaches_python_under_the_multi_worker_strategy():
    result = subprocess.run(
        [sys.executable, "-c", SIGTERM_AFTER_STRATEGY % free_port()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    received = json.loads(result.stdout.strip().splitlines()[-1])["received"]
    assert received == [signal.SIGTERM]
