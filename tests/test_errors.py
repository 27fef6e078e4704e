"""Bad input and faults, through the library: one clear error, nothing lost.

Each test names the defect of issue 13 it covers. The command-line side
(exit status 2, `error: ...` on one line, `--help`) is in test_cli_errors.py.
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_pfs
from keras_pfs import export, models, training
from keras_pfs.config import load_config
from tests.tiny_runs import TINY, fake_finished_run, snapshot


# 5, 6: a validated config.
@pytest.mark.parametrize(
    "override, message",
    [
        ("epochs=1O", r"Config key epochs='1O': expected an integer >= 1"),
        ("batch_size=-3", r"Config key batch_size=-3: must be >= 1"),
        ("crop_size=abc", r"Config key crop_size='abc': expected \(height, width\)"),
        ("flip=1", r"Config key flip=1: expected True or False"),
        ('distillation_losses=["pfs"]', r"Config key distillation_losses=\('pfs',\)"),
        ('distillation_losses={"pfz": {}}', r"distillation_losses\['pfz'\]: Unknown"),
        ('distillation_losses={"pfs": {"x": 1}}', r"\['pfs'\]: .*argument 'x'"),
        ('loss_weights={"kd": 5.0}', r"loss_weights names \['kd'\], which are not"),
        ('loss_weights={"pfs": "high"}', r"loss_weights=.*weight >= 0"),
        ("class_names=('a',)", r"class_names has 1 names for num_classes=5"),
    ],
)
def test_bad_config_values_name_the_key(override, message):
    with pytest.raises(ValueError, match=message):
        load_config(None, [override])


def test_fewer_images_than_one_batch_names_both_numbers():
    config = load_config(None, [*TINY, "num_train_images=4"])
    with pytest.raises(ValueError, match=r"has 4 images.*batch_size=8"):
        training.check_splits(config)


def write_pngs(folder, count, num_classes, size=(32, 32)):
    rng = np.random.default_rng(0)
    lines = []
    for i in range(count):
        image = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
        label = rng.integers(0, num_classes, (*size, 1), dtype=np.uint8)
        tf.io.write_file(str(folder / f"i{i}.png"), tf.io.encode_png(image))
        tf.io.write_file(str(folder / f"l{i}.png"), tf.io.encode_png(label))
        lines.append(f"i{i}.png l{i}.png")
    return lines


@pytest.fixture
def list_dataset(tmp_path):
    """A list-file dataset with 3 classes: train.txt (8 pairs), val.txt (4)."""
    lines = write_pngs(tmp_path, 12, 3)
    (tmp_path / "train.txt").write_text("\n".join(lines[:8]) + "\n")
    (tmp_path / "val.txt").write_text("\n".join(lines[8:]) + "\n")
    config = load_config(
        None,
        [
            "dataset='list_file'",
            f"data_dir={str(tmp_path)!r}",
            "num_classes=3",
            "batch_size=4",
        ],
    )
    return tmp_path, config


# 8: fail early, name the file.
def test_preflight_names_a_truncated_png_and_a_bad_label_in_val(list_dataset):
    folder, config = list_dataset
    assert training.check_splits(config) == {"train": 8, "val": 4}
    contents = (folder / "i3.png").read_bytes()
    (folder / "i3.png").write_bytes(contents[: len(contents) // 2])
    with pytest.raises(ValueError, match=r"File .*/i3\.png cannot be decoded"):
        training.check_splits(config)
    (folder / "i3.png").write_bytes(contents)
    tf.io.write_file(
        str(folder / "l10.png"), tf.io.encode_png(np.full((32, 32, 1), 7, np.uint8))
    )
    with pytest.raises(ValueError, match=r"Label values 7 in .*/l10\.png are outside"):
        training.check_splits(config)
    skipped = load_config(None, [*_list_overrides(config), "preflight=False"])
    assert training.check_splits(skipped) == {"train": 8, "val": 4}


def _list_overrides(config):
    return [
        "dataset='list_file'",
        f"data_dir={config.data_dir!r}",
        "num_classes=3",
        "batch_size=4",
    ]


# 4: a lock per work directory.
def test_a_busy_work_directory_is_refused_and_a_stale_lock_taken_over(tmp_path, capsys):
    lock_file = str(tmp_path / ".lock")
    with training.WorkdirLock(lock_file):
        with open(lock_file) as f:
            holder = json.load(f)
        assert holder["pid"] == os.getpid()
        with (
            pytest.raises(
                ValueError,
                match=rf"is in use by PID {os.getpid()} .*started {holder['started']}",
            ),
            training.WorkdirLock(lock_file),
        ):
            pass
    assert not os.path.exists(lock_file)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with open(lock_file, "w") as f:
        json.dump({"pid": dead.pid, "host": os.uname().nodename, "started": "x"}, f)
    with training.WorkdirLock(lock_file):
        assert f"stale lock {lock_file} of PID {dead.pid}" in capsys.readouterr().err
    assert not os.path.exists(lock_file)


# 7: resume only what was started.
def test_resuming_another_config_or_role_names_what_differs(tmp_path):
    workdir = training.Workdir(str(tmp_path))
    config = load_config(None, [*TINY, "epochs=6"])
    started = {"role": "teacher", "preset": "tiny_mobile", "teacher": None}
    workdir.record_start({**started, "config": config.to_dict()})
    same = {**started, "config": load_config(None, [*TINY, "epochs=6"]).to_dict()}
    assert workdir.check_start(same, overwrite=False) == "resume"
    shorter = {**started, "config": load_config(None, [*TINY, "epochs=2"]).to_dict()}
    with pytest.raises(ValueError, match=r"another set-up: epochs=6 \(now 2\);"):
        workdir.check_start(shorter, overwrite=False)
    student = {**same, "role": "student"}
    with pytest.raises(ValueError, match=r"role='teacher' \(now 'student'\)"):
        workdir.check_start(student, overwrite=False)
    assert workdir.check_start(student, overwrite=True) == "new"


# 2: --overwrite validates everything before it touches the old run.
def test_overwrite_with_a_bad_preset_keeps_the_previous_run(tmp_path):
    workdir = str(tmp_path / "run")
    before = fake_finished_run(workdir)
    config = load_config(None, [*TINY, "teacher_preset='tiny-resnet'"])
    with pytest.raises(ValueError, match="Unknown preset 'tiny-resnet'"):
        training.train(config, workdir, role="teacher", overwrite=True)
    assert snapshot(workdir) == before
    with pytest.raises(ValueError, match=r"model\.keras exists \(a finished run\)"):
        training.train(load_config(None, TINY), workdir, role="teacher")
    assert snapshot(workdir) == before


def test_overwrite_failing_in_its_first_epoch_puts_the_previous_run_back(
    tmp_path, monkeypatch
):
    workdir = str(tmp_path / "run")
    before = fake_finished_run(workdir)

    def broken_step(self, data):
        raise RuntimeError("simulated crash in the first step")

    monkeypatch.setattr(keras_pfs.Distiller, "train_step", broken_step)
    with pytest.raises(RuntimeError, match="simulated crash"):
        training.train(load_config(None, TINY), workdir, role="teacher", overwrite=True)
    assert snapshot(workdir) == before


# Also: a .keras file that is not a zip.
def test_a_keras_file_that_is_not_a_zip_is_named(tmp_path):
    path = tmp_path / "model.keras"
    path.write_text("not a model")
    with pytest.raises(ValueError, match=rf"{path} is not a valid \.keras file"):
        models.load_keras_file(str(path))


# 3: evaluate and export check the model against the data.
def test_a_model_of_another_class_count_is_refused():
    model = models.build_segmenter("tiny_mobile", 5)
    models.check_segmenter_fits(model, 5, "--num_classes")
    with pytest.raises(
        ValueError,
        match=r"predicts 5 classes \(logits \(None, None, None, 5\)\) but the data "
        r"has 11 \(--num_classes\)",
    ):
        models.check_segmenter_fits(model, 11, "--num_classes")
    gray = keras.Input((None, None, 1))
    one_channel = keras.Model(gray, keras.layers.Conv2D(5, 1)(gray))
    with pytest.raises(ValueError, match=r"inputs of shape \(None, None, None, 1\)"):
        models.check_segmenter_fits(one_channel, 5, "--num_classes")


# Also: float labels are refused, not truncated.
def test_float_labels_are_refused():
    student = models.build_segmenter("tiny_mobile", 3)
    images = np.zeros((2, 32, 32, 3), np.float32)
    labels = np.full((2, 32, 32), 1.7, np.float32)
    distiller = keras_pfs.Distiller(student, None, distillation_losses={})
    distiller.compile(optimizer="adam")
    with pytest.raises(
        ValueError, match=r"labels must be integer class ids, got dtype float32"
    ):
        distiller.fit(images, labels, epochs=1, verbose=0)
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(2)
    with pytest.raises(ValueError, match="got dtype float32"):
        keras_pfs.metrics.evaluate_segmenter(student, dataset, 3)


# 1: export never deletes user files.
def test_export_refuses_a_path_that_is_not_one_of_its_exports(tmp_path):
    folder = tmp_path / "some" / "folder"
    folder.mkdir(parents=True)
    (folder / "notes.txt").write_text("mine")
    tflite = tmp_path / "model.tflite"
    tflite.write_bytes(b"someone else's model")
    before = snapshot(tmp_path)
    model = models.build_segmenter("tiny_mobile", 3)
    images, _ = export.synthetic_samples(1, (32, 32), 3)
    with pytest.raises(ValueError, match=rf"Output {folder} exists and is not a keras"):
        export.export_model(model, str(folder), "saved_model", parity_images=images)
    with pytest.raises(ValueError, match=rf"Output {tflite} exists .*parity\.json"):
        export.export_model(model, str(tflite), "tflite", parity_images=images)
    assert snapshot(tmp_path) == before


# Also: the parity gate's limits can be set.
def test_parity_limits_can_be_overridden():
    def runner(offset):
        def run(images):
            probabilities = np.full((*images.shape[:3], 2), 0.5) + [offset, -offset]
            return np.argmax(probabilities, -1), probabilities

        return run

    images = [np.zeros((4, 4, 3), np.uint8)]
    report = export.check_parity(runner(0.0), runner(0.01), images)
    assert not report["passed"] and "max |diff|" in report["failures"][0]
    report = export.check_parity(
        runner(0.0), runner(0.01), images, thresholds={"max_abs_diff": 0.02}
    )
    assert report["passed"] and report["thresholds"]["max_abs_diff"] == 0.02
    with pytest.raises(ValueError, match=r"Unknown parity thresholds \['max_diff'\]"):
        export.check_parity(runner(0), runner(0), images, thresholds={"max_diff": 1})
