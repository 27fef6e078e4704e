"""Smoke test of scripts/benchmark_losses.py: runs its --smoke grid end to end."""

import json
import pathlib

from tests.run_script import run_python

SCRIPT = pathlib.Path(__file__).resolve().parents[1] / "scripts" / "benchmark_losses.py"


def test_smoke_run_reports_both_methods_and_agreeing_values(tmp_path):
    output = tmp_path / "losses.json"
    markdown = tmp_path / "losses.md"
    done = run_python(
        str(SCRIPT),
        "--smoke",
        f"--output_json={output}",
        f"--output_md={markdown}",
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(output.read_text())

    rows = result["rows"]
    assert {(row["method"], row["mode"]) for row in rows} == {
        (method, mode) for method in ("dense", "gram") for mode in ("fwd", "fwd_grad")
    }
    for row in rows:
        assert row["status"] == "ok", row
        assert row["median_s"] > 0
        assert all(t > 0 for t in row["times_s"])
        assert row["extra_bytes"] >= 0
    assert len(result["comparisons"]) == 4
    for comparison in result["comparisons"]:
        assert comparison["time_ratio"] > 0
        assert comparison["relative_diff"] < 1e-4
    table = markdown.read_text()
    assert "| grid | Ct | B | pass | dense time | Gram time | time ratio |" in table
    assert "| 17x17 | 16 | 2 | fwd+grad |" in table
    assert "17x17" in done.stdout
    # The smoke grids do not reach the targets' 65x65 and 129x129.
    assert [t["met"] for t in result["targets"]] == [None, None, None]
    assert "| Gram runs at 129x129 | not measured | no rows |" in table
    assert {"command", "commit", "date"} <= set(result)
