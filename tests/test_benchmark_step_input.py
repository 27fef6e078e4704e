"""Smoke tests of scripts/benchmark_step.py and scripts/benchmark_input.py."""

import json
import math
import pathlib
import subprocess
import sys

import pytest

SCRIPTS = pathlib.Path(__file__).resolve().parents[1] / "scripts"


def _run(script, *args):
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / script), "--smoke", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def step_run(tmp_path_factory):
    output = tmp_path_factory.mktemp("step") / "step.json"
    stdout = _run("benchmark_step.py", f"--output_json={output}")
    return json.loads(output.read_text()), stdout, output


def test_step_smoke_reports_positive_times_and_overhead(step_run):
    result, stdout, _ = step_run
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
    assert "overhead_ratio jit=off (wall):" in stdout


def test_input_smoke_reports_pipeline_and_ratio(step_run, tmp_path):
    _, _, step_json = step_run
    output = tmp_path / "input.json"
    stdout = _run(
        "benchmark_input.py", f"--step_json={step_json}", f"--output_json={output}"
    )
    result = json.loads(output.read_text())
    pipeline = result["pipeline"]
    assert pipeline["images_in_list"] == 6
    assert pipeline["images_per_s"] > 0
    assert pipeline["cpu_s_per_image"] > 0
    assert len(pipeline["window_images_per_s"]) == 2
    step = result["step"]["off"]
    assert step["step_images_per_s"] > 0
    assert step["ratio"] > 0
    assert "ratio pipeline/step" in stdout
