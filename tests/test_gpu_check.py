"""The GPU check's CPU version: the same checks on tiny models."""

import json
import os

import numpy as np
import pytest

from keras_pfs.experiments import benchmark, gpu_check
from tests.run_script import ROOT, run_python


def test_relative_diff_of_logs_and_of_weights():
    assert gpu_check.relative_diff({"a": 2.0, "b": 1.0}, {"b": 1.5, "a": 2.0}) == 0.25
    weights = [np.ones((2, 2)), np.full(3, -4.0)]
    shifted = [np.ones((2, 2)), np.full(3, -3.0)]
    assert gpu_check.relative_diff(weights, shifted) == 0.25
    assert gpu_check.relative_diff(weights, weights) == 0.0


def test_run_checks_records_a_failing_check_and_runs_the_others():
    path = os.path.join(ROOT, "benchmarks", "configs", "gpu_check.json")
    config = benchmark.load_config(path, smoke=True)

    def broken(setup):
        raise RuntimeError("no device")

    def batch_shape(setup):
        return {"shape": list(setup.batch[0].shape), "passed": True}

    result = gpu_check.run_checks(config, {"broken": broken, "batch": batch_shape})
    assert result["gpus"] == 0 and result["gpu"] is None and not result["passed"]
    assert result["checks"]["broken"]["error"] == "RuntimeError: no device"
    assert result["checks"]["batch"]["shape"] == [2, 32, 40, 3]
    assert all(check["seconds"] >= 0 for check in result["checks"].values())


@pytest.mark.slow
def test_gpu_check_runs_every_check_on_the_cpu(tmp_path):
    output = tmp_path / "gpu_check.json"
    done = run_python("scripts/gpu_check.py", f"--output_json={output}")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(output.read_text())
    checks = result["checks"]
    assert result["gpus"] == 0 and result["passed"]
    assert set(checks) == {"one_step", "mixed_float16", "xla", "throughput"}
    assert checks["one_step"]["replicas"] == 2
    assert checks["one_step"]["one_device"]["loss"] > 0
    assert len(checks["mixed_float16"]["losses_mixed_float16"]) == 20
    assert checks["xla"]["jit_compile"]
    rows = checks["throughput"]["images_per_s"]
    assert set(rows) == {
        "student_step",
        "teacher_forward",
        "distillation_step",
        "distillation_step_xla",
    }
    assert all(value > 0 for value in rows.values())
    assert result["settings"]["height"] == 32  # the smoke sizes
