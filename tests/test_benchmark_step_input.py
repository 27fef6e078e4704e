"""Smoke tests of scripts/benchmark_step.py and scripts/benchmark_input.py."""

import json
import math
import pathlib

import numpy as np
import pytest
import tensorflow as tf

from tests.run_script import run_python

SCRIPTS = pathlib.Path(__file__).resolve().parents[1] / "scripts"


def _run(script, *args):
    done = run_python(str(SCRIPTS / script), "--smoke", *args, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def list_folder(tmp_path_factory):
    """6 random 40x48 PNG pairs (labels 0..10 and void 11) and `train.txt`."""
    folder = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    lines = []
    for i in range(6):
        image = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
        label = rng.integers(0, 12, (40, 48, 1), dtype=np.uint8)
        for name, array in ((f"image_{i}.png", image), (f"label_{i}.png", label)):
            tf.io.write_file(str(folder / name), tf.io.encode_png(array))
        lines.append(f"image_{i}.png label_{i}.png\n")
    (folder / "train.txt").write_text("".join(lines))
    return folder


@pytest.fixture(scope="module")
def step_run(tmp_path_factory, list_folder):
    output = tmp_path_factory.mktemp("step") / "step.json"
    stdout = _run(
        "benchmark_step.py", f"--data_dir={list_folder}", f"--output_json={output}"
    )
    return json.loads(output.read_text()), stdout, output


def test_step_smoke_reports_positive_times_and_overhead(step_run, list_folder):
    result, stdout, _ = step_run
    assert result["settings"]["data"] == str(list_folder)
    rows = {(row["config"], row["jit"]): row for row in result["rows"]}
    assert set(rows) == {("student", "off"), ("teacher", "off"), ("full", "off")}
    for row in rows.values():
        assert row["median_s"] > 0
        assert len(row["times_s"]) == 2
        assert all(t > 0 for t in row["times_s"])
        assert row["images_per_s"] > 0
    derived = result["derived"]["off"]
    assert derived["overhead_ratio"] > 0
    assert derived["overhead_ratio_per_round_median"] > 0
    full_logs = result["last_step_logs"]["full/off"]
    assert {"loss", "ce", "pfs", "imitation"} <= set(full_logs)
    assert all(math.isfinite(value) for value in full_logs.values())
    assert result["derived"]["off"]["cpu_overhead_ratio"] > 0
    (target,) = result["targets"]
    assert target["values"] == [derived["overhead_ratio"]]
    assert target["met"] == (derived["overhead_ratio"] <= 1.10)
    assert "target full step <= 1.10 x" in stdout


def test_input_smoke_reports_pipeline_and_ratio(step_run, list_folder, tmp_path):
    _, _, step_json = step_run
    output = tmp_path / "input.json"
    stdout = _run(
        "benchmark_input.py",
        f"--data_dir={list_folder}",
        f"--step_json={step_json}",
        f"--output_json={output}",
    )
    result = json.loads(output.read_text())
    pipeline = result["pipeline"]
    assert pipeline["images_in_list"] == 6
    assert pipeline["images_per_s"] > 0
    assert pipeline["cpu_s_per_image"] > 0
    assert len(pipeline["window_images_per_s"]) == 2
    step = result["step"]["off"]
    assert step["step_images_per_s"] > 0
    assert step["ratio"] == pytest.approx(
        pipeline["images_per_s"] / step["step_images_per_s"]
    )
    (target,) = result["targets"]
    assert target["met"] == (step["ratio"] >= 3)
    assert "target pipeline >= 3x" in stdout
