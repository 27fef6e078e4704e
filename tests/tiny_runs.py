"""What the run tests share: a tiny config, and folder snapshots that show
that nothing a user had was changed."""

import hashlib
import os

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
