"""What keras_pfs saves loads in a fresh process: with `import keras_pfs`
alone, or, exported as a SavedModel, without the package (issue 25, points 1
and 2)."""

import subprocess
import sys

import keras
import numpy as np

from keras_pfs import Distiller
from keras_pfs.models import build_segmenter, wrap_segmenter
from tests.run_script import ROOT

# Nothing but `import keras_pfs`: the saved classes must be registered by it,
# and every subpackage must be an attribute.
_WITH_PACKAGE = """
import sys
import keras
import numpy as np
import keras_pfs

folder = sys.argv[1]
images = np.load(f"{folder}/images.npy")
for name in ("student", "wrapped"):
    model = keras.saving.load_model(f"{folder}/{name}.keras")
    expected = np.load(f"{folder}/{name}.npy")
    np.testing.assert_allclose(model(images)["logits"], expected, atol=1e-5)
distiller = keras.saving.load_model(f"{folder}/distiller.keras")
assert type(distiller) is keras_pfs.Distiller, type(distiller)
for name in keras_pfs.__all__:
    getattr(keras_pfs, name)
assert callable(keras_pfs.export.export_model)
print("loaded")
"""

# keras_pfs cannot be imported here at all.
_WITHOUT_PACKAGE = """
import sys
sys.modules["keras_pfs"] = None
import keras
import numpy as np

folder = sys.argv[1]
student = keras.layers.TFSMLayer(f"{folder}/student_savedmodel", call_endpoint="serve")
logits = student(np.load(f"{folder}/images.npy"))["logits"]
np.testing.assert_allclose(logits, np.load(f"{folder}/student.npy"), atol=1e-5)
print("loaded")
"""


def _small_functional_model():
    images = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(4, 3, strides=2, padding="same", name="enc")(images)
    return keras.Model(images, keras.layers.Conv2D(3, 1, name="cls")(x))


def test_saved_models_load_in_fresh_processes(tmp_path):
    keras.utils.set_random_seed(0)
    images = np.random.default_rng(0).uniform(0, 255, (1, 24, 40, 3))
    np.save(tmp_path / "images.npy", images.astype("float32"))
    student = build_segmenter("tiny_mobile", 3)
    wrapped = wrap_segmenter(_small_functional_model(), feature_layer="enc")
    for name, model in (("student", student), ("wrapped", wrapped)):
        model.save(tmp_path / f"{name}.keras")
        np.save(tmp_path / f"{name}.npy", model(images)["logits"])
    Distiller(student, build_segmenter("tiny_mobile", 3)).save(
        tmp_path / "distiller.keras"
    )
    student.export(str(tmp_path / "student_savedmodel"), format="tf_saved_model")

    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for script in (_WITH_PACKAGE, _WITHOUT_PACKAGE)
    ]
    for process in processes:
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0 and "loaded" in stdout, stderr[-3000:]
