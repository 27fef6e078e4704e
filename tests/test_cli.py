"""End to end through the console scripts, on a few tiny synthetic images;
expected errors: `error: <what and where>` on one line, exit status 2, no
traceback, and every file that was there before left byte-identical."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from keras_pfs import models
from tests.run_script import run_python
from tests.tiny_runs import fake_finished_run, snapshot

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = [
    "--config",
    os.path.join(ROOT, "configs", "synthetic.py"),
    "--set=num_train_images=32",
    "--set=num_val_images=16",
    "--set=image_size=(32, 32)",
    "--set=batch_size=8",
    "--set=epochs=1",
    # The demo config crops 64x64; these runs use 32x32 images, unaugmented.
    "--set=crop_size=None",
]


def run_cli(module, *args):
    return run_python("-m", f"keras_pfs.cli.{module}", *args)


def read_json(path):
    with open(path) as f:
        return json.load(f)


def last_line(result):
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_train_distill_evaluate_and_refuse_to_overwrite(tmp_path):
    teacher_dir, distilled_dir = str(tmp_path / "teacher"), str(tmp_path / "distilled")
    last_line(run_cli("train", *TINY, "--role=teacher", f"--workdir={teacher_dir}"))
    teacher = os.path.join(teacher_dir, "model.keras")
    assert os.path.isfile(teacher)
    history = read_json(os.path.join(teacher_dir, "history.json"))
    assert {"loss", "ce", "mean_iou", "val_mean_iou"} <= set(history)

    last_line(
        run_cli("distill", *TINY, f"--teacher={teacher}", f"--workdir={distilled_dir}")
    )
    history = read_json(os.path.join(distilled_dir, "history.json"))
    assert {"pfs", "imitation", "val_pfs", "val_imitation"} <= set(history)

    out = str(tmp_path / "eval.json")
    evaluated = last_line(
        run_cli(
            "evaluate",
            *TINY,
            f"--model={distilled_dir}/model.keras",
            f"--output_json={out}",
        )
    )
    saved = read_json(out)
    assert saved["miou"] == evaluated["miou"]
    assert len(saved["per_class_iou"]) == 5
    # The run's own held-out evaluation and the evaluate command agree.
    own = read_json(os.path.join(distilled_dir, "eval.json"))
    assert abs(own["miou"] - saved["miou"]) < 1e-6

    before = os.path.getmtime(teacher)
    again = run_cli("train", *TINY, "--role=teacher", f"--workdir={teacher_dir}")
    assert again.returncode != 0
    assert "exists (a finished run); pass --overwrite" in again.stderr
    assert os.path.getmtime(teacher) == before


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A 5-class model, an 11-class list file, a fake .keras, a JSON config,
    a user folder, a finished run and a run directory locked by a live
    process."""
    root = tmp_path_factory.mktemp("cli")
    model = models.build_segmenter("tiny_mobile", 5)
    model.save(str(root / "five.keras"))
    (root / "broken.keras").write_text("not a zip")
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    label = rng.integers(0, 11, (32, 32, 1), dtype=np.uint8)
    tf.io.write_file(str(root / "i.png"), tf.io.encode_png(image))
    tf.io.write_file(str(root / "l.png"), tf.io.encode_png(label))
    (root / "camvid_like.txt").write_text("i.png l.png\n")
    (root / "config.json").write_text('{"epochs": 2}')
    (root / "folder").mkdir()
    (root / "folder" / "notes.txt").write_text("the user's own file")
    fake_finished_run(str(root / "finished"))
    (root / "busy").mkdir()
    with open(root / "busy" / ".lock", "w") as f:
        json.dump({"pid": os.getpid(), "host": os.uname().nodename, "started": "t0"}, f)
    return root


CASES = {
    "unknown_key": ("train", ["--set=epoch=3"], "--set: unknown config key 'epoch'"),
    "missing_model": (
        "evaluate",
        ["--model={}/missing.keras"],
        "Model file {}/missing.keras does not exist",
    ),
    # 6: --set values are checked.
    "bad_int": ("train", ["--set=epochs=1O"], "Config key epochs='1O'"),
    "bad_losses": (
        "train",
        ["--set=distillation_losses=['pfs']"],
        "Config key distillation_losses=('pfs',)",
    ),
    # 5: unknown loss weights.
    "unused_weight": (
        "train",
        ['--set=loss_weights={"kd": 5.0}'],
        "Config key loss_weights names ['kd']",
    ),
    # 2: --overwrite validates before it removes.
    "overwrite_typo": (
        "train",
        ["--set=teacher_preset=tiny-resnet", "--overwrite", "--workdir={}/finished"],
        "Unknown preset 'tiny-resnet'",
    ),
    # 4: a lock per work directory.
    "busy": (
        "train",
        ["--workdir={}/busy"],
        "{}/busy is in use by PID " + str(os.getpid()),
    ),
    # 3: evaluate checks the model against the data.
    "class_count": (
        "evaluate",
        [
            "--model={}/five.keras",
            "--list_file={}/camvid_like.txt",
            "--num_classes=11",
            "--ignore_class=11",
        ],
        "predicts 5 classes (logits (None, None, None, 5)) but the data has 11",
    ),
    # Also: a .keras file that is not a zip.
    "not_a_zip": (
        "evaluate",
        ["--model={}/broken.keras", "--config", TINY[1]],
        "{}/broken.keras is not a valid .keras file",
    ),
    # Issue 26, bad case 2: an output over an input.
    "output_json_is_the_model": (
        "evaluate",
        ["--model={}/five.keras", "--config", TINY[1], "--output_json={}/five.keras"],
        "--output_json {}/five.keras is the --model file",
    ),
    # Issue 26, bad case 6: a config file is Python.
    "json_config": (
        "train",
        ["--config={}/config.json"],
        "Config file {}/config.json is not a Python file",
    ),
    # Issue 26: the parity gate's mIoU check was skipped without a word.
    "parity_list_without_classes": (
        "export",
        [
            "--model={}/five.keras",
            "--format=tflite",
            "--output={}/five.tflite",
            "--parity_list={}/camvid_like.txt",
        ],
        "--parity_list needs --num_classes",
    ),
    # 1: export never deletes user files.
    "export_into_user_folder": (
        "export",
        ["--model={}/five.keras", "--format=saved_model", "--output={}/folder/"],
        "Output {}/folder exists and is not a keras-pfs saved_model export",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_expected_errors_are_one_line_with_exit_status_2(files, case):
    module, args, message = CASES[case]
    before = snapshot(files)
    common = TINY if module == "train" else []
    result = run_cli(module, *common, *(a.replace("{}", str(files)) for a in args))
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr[-3000:]
    assert message.replace("{}", str(files)) in errors[0]
    after = snapshot(files)
    assert {path: after.get(path) for path in before} == before


def test_help_lists_the_tools_own_flags():
    result = run_cli("train", "--help")
    assert result.returncode == 0, result.stderr[-3000:]
    for flag, description in [
        ("--role", "Which preset to train"),
        ("--workdir", "Directory for models, logs and results"),
        ("--[no]overwrite", "Replace a finished run"),
        ("--set", "Config override key=value"),
    ]:
        assert flag in result.stdout and description in result.stdout, flag
    assert "keras-pfs-train" in result.stdout
