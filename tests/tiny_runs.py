"""What the run tests share: a tiny config, folder snapshots that show that
nothing a user had was changed, and small disks to fill up."""

import contextlib
import hashlib
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Config overrides of a run that takes seconds: tiny_mobile in both roles.
TINY = [
    "num_train_images=16",
    "num_val_images=8",
    "image_size=(32, 32)",
    "batch_size=8",
    "epochs=1",
    "teacher_preset='tiny_mobile'",
    "student_preset='tiny_mobile'",
]
# The same run on the command line (the synthetic config crops 64x64; these
# 32x32 images go unaugmented).
TINY_FLAGS = [
    "--config",
    os.path.join(ROOT, "configs", "synthetic.py"),
    *(f"--set={override}" for override in TINY),
    "--set=crop_size=None",
]


def snapshot(folder):
    """`{relative path: sha256}` of every file under `folder`."""
    result = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            result[os.path.relpath(path, folder)] = digest
    return result


def fake_finished_run(workdir):
    """A work directory as a finished run leaves it (contents are stand-ins)."""
    for name in ("model.keras", "best.keras", "history.json", "eval.json"):
        path = os.path.join(workdir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(f"previous {name}")
    os.makedirs(os.path.join(workdir, "logs", "train"))
    with open(os.path.join(workdir, "logs", "train", "events"), "w") as f:
        f.write("previous events")
    return snapshot(workdir)


def fill_disk(folder, free_pages=0):
    """Fills the disk holding `folder` with the file `folder/filler`, then
    frees `free_pages` pages (4096 bytes) of it again."""
    path = os.path.join(folder, "filler")
    # Unbuffered: a buffer left unflushed would fail again at close().
    with open(path, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass
    size = os.path.getsize(path)
    os.truncate(path, max(0, size - free_pages * 4096))


@contextlib.contextmanager
def tmpfs(folder, options):
    """Mounts a tmpfs with `options` (e.g. `"size=2m"`) on the existing
    `folder` for the `with` block; skips the test where mounting is not
    allowed (it needs root)."""
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs ({options}): {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)
