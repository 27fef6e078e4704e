"""keras_pfs.training.train from Python: a complete run, and what it saves."""

import json
import os
import re

import keras
import numpy as np
import pytest

from keras_pfs import training
from keras_pfs.config import load_config
from keras_pfs.models import build_segmenter
from tests.tiny_runs import TINY


def comparable(model):
    """The model's config as JSON, without the process-wide name counter of
    its auto-named input layer."""
    text = json.dumps(model.get_config())
    return re.sub(r"input_layer(_\d+)?", "input_layer", text)


def tiny_config(*overrides):
    return load_config(None, [*TINY, *overrides])


@pytest.fixture(scope="module")
def teacher_run(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("teacher"))
    results = training.train(tiny_config(), workdir, role="teacher")
    return workdir, results


def test_a_run_writes_its_results_and_a_student_that_saves_clean(teacher_run, tmp_path):
    teacher_dir, teacher_results = teacher_run
    assert 0.0 <= teacher_results["miou"] <= 1.0
    for name in ("model.keras", "best.keras", "epochs.jsonl", "history.json"):
        assert os.path.isfile(os.path.join(teacher_dir, name)), name
    assert not os.path.exists(os.path.join(teacher_dir, "backup"))
    assert not os.path.exists(os.path.join(teacher_dir, ".lock"))

    workdir = str(tmp_path / "distilled")
    config = tiny_config()
    results = training.train(
        config, workdir, teacher_path=os.path.join(teacher_dir, "model.keras")
    )
    with open(os.path.join(workdir, "eval.json")) as f:
        assert json.load(f)["miou"] == pytest.approx(results["miou"])
    with open(os.path.join(workdir, "history.json")) as f:
        assert {"pfs", "imitation"} <= set(json.load(f))
    # The Distiller synchronises BatchNorm for training only: what the run
    # saves has the config of the model the user asked for.
    fresh = build_segmenter(config.student_preset, config.num_classes)
    for name in ("model.keras", "best.keras"):
        saved = keras.saving.load_model(os.path.join(workdir, name))
        assert '"synchronized": false' in comparable(saved)
        assert comparable(saved) == comparable(fresh), name


def test_feature_layer_moves_the_feature_terms_to_that_layer(teacher_run, tmp_path):
    teacher = os.path.join(teacher_run[0], "model.keras")
    workdir = str(tmp_path / "aspp")
    training.train(tiny_config("feature_layer='aspp'"), workdir, teacher_path=teacher)
    student = keras.saving.load_model(os.path.join(workdir, "model.keras"))
    # tiny_mobile's ASPP sits at stride 16: 2x2 on 32x32 images (features: 4x4).
    assert student(np.zeros((1, 32, 32, 3), "float32"))["features"].shape[1:3] == (2, 2)
    with open(os.path.join(workdir, "history.json")) as f:
        assert np.isfinite(json.load(f)["pfs"]).all()
    bad = str(tmp_path / "bad")
    with pytest.raises(ValueError, match="no layer 'asp' \\(feature_layer\\)"):
        training.train(tiny_config("feature_layer='asp'"), bad, teacher_path=teacher)
    assert not (os.path.isdir(bad) and os.listdir(bad))  # nothing written


def test_overwrite_keeps_the_previous_run_until_the_first_epoch(
    teacher_run, monkeypatch
):
    teacher_dir, _ = teacher_run
    previous = os.path.join(teacher_dir, training.workdir.PREVIOUS_DIR)
    seen = []
    drop = training.Workdir.drop_aside

    def spy(self):
        if os.path.isdir(previous):
            seen.append(sorted(os.listdir(previous)))
        drop(self)

    monkeypatch.setattr(training.Workdir, "drop_aside", spy)
    training.train(tiny_config(), teacher_dir, role="teacher", overwrite=True)
    # At the end of the first epoch the old run was still there, complete.
    assert {"model.keras", "best.keras", "epochs.jsonl", "eval.json"} <= set(seen[0])
    assert not os.path.exists(previous)
    with open(os.path.join(teacher_dir, "epochs.jsonl")) as f:
        assert [json.loads(line)["epoch"] for line in f] == [0]
