"""Pins the numerics: a fixed-seed distillation of a few SGD steps through the
public API gives the student weights recorded in `tests/data/`.

The reference was generated from the code before the loss-contract
restructuring (issue 14) and must not be regenerated to make a refactoring
pass; only a deliberate change of the numerics may do so, and says so in its
commit. To regenerate:

    python tests/test_regression.py --write
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_pfs  # noqa: E402
from keras_pfs.data import make_synthetic_arrays  # noqa: E402
from keras_pfs.models import build_segmenter  # noqa: E402

REFERENCE = os.path.join(os.path.dirname(__file__), "data", "regression_weights.npz")
NUM_CLASSES = 4
STEPS = 3
BATCH = 2
# The default method, and every other registered loss (ifvd also takes labels).
CASES = {
    "pfs_imitation": ("pfs", "imitation"),
    "others": ("cwd", "ifvd", "kd", "skd"),
}


def distilled_student_weights(case):
    """Student weights before and after `STEPS` SGD steps of distilling with
    `CASES[case]`."""
    keras.utils.set_random_seed(3)
    student = build_segmenter("tiny_mobile", NUM_CLASSES)
    initial = student.get_weights()
    teacher = build_segmenter("tiny_mobile", NUM_CLASSES)
    images, labels = make_synthetic_arrays(
        STEPS * BATCH, image_size=(32, 32), num_classes=NUM_CLASSES, seed=5
    )
    dataset = tf.data.Dataset.from_tensor_slices(
        (images.astype("float32"), labels.astype("int32"))
    ).batch(BATCH)
    distiller = keras_pfs.Distiller(
        student=student,
        teacher=teacher,
        distillation_losses={name: keras_pfs.losses.get(name) for name in CASES[case]},
    )
    distiller.compile(optimizer=keras.optimizers.SGD(0.05), jit_compile=False)
    distiller.fit(dataset, epochs=1, shuffle=False, verbose=0)
    return initial, student.get_weights()


@pytest.mark.parametrize("case", sorted(CASES))
def test_distillation_reproduces_the_recorded_weights(case):
    reference = np.load(REFERENCE)
    initial, weights = distilled_student_weights(case)
    keys = [k for k in reference.files if k.startswith(f"{case}/")]
    assert len(keys) == len(weights)
    # The steps really trained the student (a no-op would pin nothing).
    assert (
        max(np.abs(a - b).max() for a, b in zip(initial, weights, strict=True)) > 1e-3
    )
    for index, got in enumerate(weights):
        np.testing.assert_allclose(
            got, reference[f"{case}/{index:03d}"], rtol=0, atol=1e-6
        )


def write_reference():
    arrays = {
        f"{case}/{index:03d}": weight
        for case in sorted(CASES)
        for index, weight in enumerate(distilled_student_weights(case)[1])
    }
    os.makedirs(os.path.dirname(REFERENCE), exist_ok=True)
    np.savez_compressed(REFERENCE, **arrays)
    print(f"wrote {len(arrays)} arrays to {REFERENCE}")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/test_regression.py --write")
    write_reference()
