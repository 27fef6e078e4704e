"""The CamVid benchmark's --quick path: same code, tiny models, few frames."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CAMVID = os.path.join(ROOT, "..", "shared", "datasets", "camvid")


@pytest.mark.slow
@pytest.mark.skipif(
    not os.path.isdir(CAMVID), reason="../shared/datasets/camvid absent"
)
def test_quick_benchmark_writes_results_and_reuses_the_teacher(tmp_path):
    def run():
        return subprocess.run(
            [
                sys.executable,
                os.path.join(ROOT, "scripts", "benchmark_camvid.py"),
                f"--data_dir={CAMVID}",
                "--quick",
                "--rows=student,pfs+imitation",
                "--seeds=0",
                f"--workdir={tmp_path / 'runs'}",
                f"--output_dir={tmp_path / 'out'}",
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=900,
        )

    result = run()
    assert result.returncode == 0, result.stderr[-3000:]
    with open(tmp_path / "out" / "results.json") as f:
        rows = json.load(f)
    assert set(rows) == {"teacher", "student", "pfs+imitation"}
    for row in rows.values():
        assert 0.0 <= row["miou"] <= 1.0
        assert len(row["per_class_iou"]) == 11
        assert os.path.isfile(row["model"])
    readme = (tmp_path / "out" / "README.md").read_text()
    assert "QUICK" in readme and "pfs+imitation" in readme
    # A second run trains nothing: every row comes from the cache.
    again = run()
    assert again.returncode == 0, again.stderr[-3000:]
    assert "running:" not in again.stdout
    assert again.stdout.count("cached:") == 3
