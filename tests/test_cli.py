"""End to end through the console scripts, on a few tiny synthetic images."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = [
    "--config",
    os.path.join(ROOT, "configs", "synthetic.py"),
    "--set=num_train_images=32",
    "--set=num_val_images=16",
    "--set=image_size=(32, 32)",
    "--set=batch_size=8",
    "--set=epochs=1",
]


def run_cli(module, *args):
    return subprocess.run(
        [sys.executable, "-m", f"keras_pfs.cli.{module}", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )


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


def test_bad_input_gets_a_one_line_error(tmp_path):
    result = run_cli(
        "train", *TINY, "--set=teacher_preset=resnet1000", f"--workdir={tmp_path}"
    )
    assert result.returncode != 0
    assert "Unknown preset 'resnet1000'" in result.stderr
    result = run_cli("train", *TINY, "--set=epoch=3", f"--workdir={tmp_path}")
    assert "unknown config key 'epoch'" in result.stderr
    result = run_cli("evaluate", f"--model={tmp_path}/missing.keras")
    assert f"Model file {tmp_path}/missing.keras does not exist" in result.stderr
