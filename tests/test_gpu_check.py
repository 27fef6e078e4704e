"""The GPU check's CPU version: the same checks on tiny models."""

import json
import subprocess
import sys

import pytest

from tests.run_script import ROOT


@pytest.mark.slow
def test_gpu_check_runs_every_check_on_the_cpu(tmp_path):
    output = tmp_path / "gpu_check.json"
    done = subprocess.run(
        [sys.executable, "scripts/gpu_check.py", f"--output_json={output}"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        check=False,
    )
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
