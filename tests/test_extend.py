"""Extending a run (`--extend`): more epochs for a finished or unfinished run,
every other change refused as on a resume."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from keras_pfs import models, training
from keras_pfs.config import load_config
from tests.tiny_runs import TINY, snapshot


def identity(*overrides, role="student"):
    return training.run_identity(load_config(None, [*TINY, *overrides]), role)


def finished_run(workdir, *overrides, student=None):
    """A run finished after 1 epoch, as `train` leaves it; its model is
    `student` (a stand-in file without one)."""
    os.makedirs(workdir)
    model_file = os.path.join(workdir, "model.keras")
    if student is None:
        with open(model_file, "w") as f:
            f.write("a finished model")
    else:
        student.save(model_file)
    run_dir = training.Workdir(workdir)
    run_dir.record_finish(identity("epochs=1", *overrides))
    with open(os.path.join(workdir, "epochs.jsonl"), "w") as f:
        f.write(json.dumps({"epoch": 0, "loss": 9.0, "val_mean_iou": 0.0}) + "\n")


def test_extending_checks_what_it_continues(tmp_path):
    workdir = str(tmp_path / "run")
    with pytest.raises(ValueError, match="--extend: .* holds no run to extend"):
        training.Workdir(workdir).check_start(identity("epochs=2"), False, True)
    finished_run(workdir)
    run_dir = training.Workdir(workdir)
    before = snapshot(workdir)
    with pytest.raises(
        ValueError, match=r"finished run\); pass --overwrite .*--extend"
    ):
        run_dir.check_start(identity("epochs=2"), overwrite=False)
    with pytest.raises(ValueError, match=r"pass one of them"):
        run_dir.check_start(identity("epochs=2"), overwrite=True, extend=True)
    with pytest.raises(ValueError, match=r"set to train 1 epochs; set epochs above"):
        run_dir.check_start(identity("epochs=1"), False, extend=True)
    with pytest.raises(
        ValueError, match=r"seed=0 \(now 3\); --extend may change only epochs"
    ):
        run_dir.check_start(identity("epochs=2", "seed=3"), False, extend=True)
    with pytest.raises(ValueError, match=r"role='student' \(now 'teacher'\)"):
        run_dir.check_start(identity("epochs=2", role="teacher"), False, extend=True)
    assert run_dir.check_start(identity("epochs=2"), False, extend=True) == "extend"
    assert snapshot(workdir) == before

    # An unfinished run set to 4 epochs: --extend may raise them, not lower.
    run_dir.record_start(identity("epochs=4"))
    os.remove(run_dir.file("model.keras"))
    assert run_dir.check_start(identity("epochs=6"), False, extend=True) == "extend"
    with pytest.raises(ValueError, match=r"set to train 4 epochs"):
        run_dir.check_start(identity("epochs=3"), False, extend=True)
    with pytest.raises(ValueError, match=r"unfinished run of another set-up"):
        run_dir.check_start(identity("epochs=6"), overwrite=False)


def test_a_run_finished_without_its_record_cannot_be_extended(tmp_path):
    workdir = str(tmp_path / "run")
    finished_run(workdir)
    os.remove(os.path.join(workdir, "run.json"))
    with pytest.raises(ValueError, match=r"finished without run\.json"):
        training.Workdir(workdir).check_start(identity("epochs=2"), False, True)


def read_scalars(folder, tag):
    """`{step: value}` of a TensorBoard scalar in the event files of `folder`."""
    values = {}
    for name in sorted(os.listdir(folder)):
        for event in tf.compat.v1.train.summary_iterator(os.path.join(folder, name)):
            for value in event.summary.value:
                if value.tag == tag:
                    values[event.step] = float(tf.make_ndarray(value.tensor))
    return values


def test_a_finished_run_continues_from_its_student_with_a_restarted_schedule(
    tmp_path,
):
    workdir = str(tmp_path / "run")
    # A learning rate so small that the student stays where it started.
    rate = "learning_rate=1e-7"
    saved = models.build_segmenter("tiny_mobile", 5)
    finished_run(workdir, rate, student=saved)
    config = load_config(None, [*TINY, rate, "epochs=2"])
    training.train(config, workdir, extend=True)

    with open(os.path.join(workdir, "history.json")) as f:
        assert json.load(f)["epoch"] == [0, 1]  # the finished epoch is kept
    with open(os.path.join(workdir, "run.json")) as f:
        assert json.load(f)["config"]["epochs"] == 2
    extended = models.load_keras_file(os.path.join(workdir, "model.keras"))
    fresh = models.build_segmenter("tiny_mobile", 5)

    def largest_difference(model):
        pairs = zip(saved.trainable_weights, model.trainable_weights, strict=True)
        return max(float(np.max(np.abs(a - b))) for a, b in pairs)

    assert largest_difference(extended) < 1e-4
    assert largest_difference(fresh) > 1e-2  # another start would show
    # Restarted: a cosine over the one added epoch ends it at 0 (the
    # schedule of 2 epochs from step 0 would end it at half the rate).
    rates = read_scalars(os.path.join(workdir, "logs", "train"), "epoch_learning_rate")
    assert rates[1] < 1e-3 * 1e-7, rates
    assert not os.path.exists(os.path.join(workdir, "backup"))
