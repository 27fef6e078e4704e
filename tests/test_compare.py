"""keras-pfs-compare end to end on the built-in data: paired cells, resume,
the table against the cells, a bad row refused before anything runs."""

import json
import os

import keras
import numpy as np
import pytest

import keras_pfs  # noqa: F401 (registers the saved classes)
from tests.run_script import ROOT, run_python

TINY = {
    "num_train_images": 16,
    "num_val_images": 8,
    "image_size": [32, 32],
    "crop_size": None,
    "batch_size": 8,
    "epochs": 1,
    "teacher_preset": "tiny_mobile",
    "student_preset": "tiny_mobile",
}


def _comparison(path, rows=None):
    comparison = {
        "config": os.path.join(ROOT, "configs", "synthetic.py"),
        "set": TINY,
        "teacher": {"set": TINY},
        "rows": rows
        or {
            "student": {"distillation_losses": {}},
            "distilled": {"about": "the config's recipe, PFS + imitation"},
        },
        "seeds": [0, 1],
        "targets": {"ours_minus_baseline_mean": -100.0},
    }
    path.write_text(json.dumps(comparison))
    return str(path)


def _compare(*args):
    return run_python("-m", "keras_pfs.cli.compare", *args, timeout=900)


def test_help_names_the_comparison_flags():
    result = _compare("--help")
    assert result.returncode == 0
    for flag in ("--comparison", "--output_dir", "--seeds", "--table_only"):
        assert flag in result.stdout


@pytest.mark.slow
def test_two_rows_two_seeds_are_paired_resumable_and_tabled(tmp_path):
    path = _comparison(tmp_path / "compare.json")
    output = tmp_path / "out"
    result = _compare(f"--comparison={path}", f"--output_dir={output}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "5 cells, 0 on file, 5 to run." in result.stdout
    assert "[1/5] cell val/teacher/seed0" in result.stdout
    assert "[5/5] cell val/distilled/seed1" in result.stdout

    cells = {}
    for row in ("student", "distilled"):
        for seed in (0, 1):
            with open(output / "cells" / "val" / row / f"seed{seed}.json") as f:
                cells[row, seed] = json.load(f)
    # Paired seeds: one seed, one initial student in every row.
    for seed in (0, 1):
        student, distilled = (
            cells[row, seed]["initial_student_sha256"]
            for row in ("student", "distilled")
        )
        assert student == distilled and student is not None
    assert (
        cells["student", 0]["initial_student_sha256"]
        != cells["student", 1]["initial_student_sha256"]
    )
    assert cells["distilled", 0]["config"]["distillation_losses"] == {
        "pfs": {},
        "imitation": {},
    }
    assert cells["student", 1]["config"]["seed"] == 1
    assert os.path.isfile(output / "models" / "val" / "teacher.keras")

    # A cell trains what keras-pfs-distill trains from the same config: the
    # same weights, bit for bit (cells of either runner are comparable).
    overrides = [f"--set={k}={v!r}" for k, v in TINY.items()]
    cli = run_python(
        "-m",
        "keras_pfs.cli.distill",
        "--config",
        os.path.join(ROOT, "configs", "synthetic.py"),
        *overrides,
        "--set=seed=1",
        f"--teacher={output / 'models' / 'val' / 'teacher.keras'}",
        f"--workdir={tmp_path / 'cli'}",
    )
    assert cli.returncode == 0, cli.stderr[-3000:]
    by_cli = keras.saving.load_model(tmp_path / "cli" / "model.keras")
    by_cell = keras.saving.load_model(
        output / "work" / "val" / "distilled" / "seed1" / "model.keras"
    )
    for a, b in zip(by_cli.get_weights(), by_cell.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)

    results = json.loads((output / "results.json").read_text())
    line = results["paired"]["distilled - student"]
    assert line["seeds"] == [0, 1]
    expected = [
        100 * (cells["distilled", s]["miou"] - cells["student", s]["miou"])
        for s in (0, 1)
    ]
    assert line["diff"] == pytest.approx(expected)
    assert results["student"]["miou_seeds"] == pytest.approx(
        [100 * cells["student", s]["miou"] for s in (0, 1)]
    )
    assert results["targets"]["ours_minus_baseline_mean"]["met"] is True
    assert (output / "README_table.md").is_file()

    # A removed cell file is recorded again from its finished work
    # directory, without training; the cells on file (the teacher's too) are
    # checked against the comparison and skipped.
    (output / "cells" / "val" / "distilled" / "seed1.json").unlink()
    again = _compare(f"--comparison={path}", f"--output_dir={output}")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "5 cells, 4 on file, 1 to run." in again.stdout
    assert "Epoch 1/1" not in again.stdout
    with open(output / "cells" / "val" / "distilled" / "seed1.json") as f:
        assert json.load(f)["miou"] == cells["distilled", 1]["miou"]
    rebuilt = json.loads((output / "results.json").read_text())
    assert rebuilt["paired"] == results["paired"]

    # Cells on file of another config are refused, not reported as this one's.
    changed = _compare(
        f"--comparison={path}", f"--output_dir={output}", "--set=epochs=2"
    )
    assert changed.returncode == 2
    assert "seed0.json was run with epochs=1, not 2" in changed.stderr


def test_a_bad_row_fails_before_any_cell_runs(tmp_path):
    rows = {
        "student": {"distillation_losses": {}},
        "broken": {"distillation_losses": {"kd": {}}, "set": {"epochs": 0}},
    }
    path = _comparison(tmp_path / "compare.json", rows)
    result = _compare(f"--comparison={path}", f"--output_dir={tmp_path / 'out'}")
    assert result.returncode == 2
    assert result.stderr.startswith("error: Cell val/broken/seed0:")
    assert "epochs" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"rowz": {}}, "unknown key 'rowz'"),
        ({"ours": "nope"}, "ours names no row: 'nope'"),
        ({"rows": {"teacher": {}}}, "row name 'teacher' is reserved"),
        ({"rows": {"a": {"loss": {}}}}, "rows.a: unknown key 'loss'"),
    ],
)
def test_a_bad_comparison_file_is_named_in_one_line(tmp_path, change, message):
    path = tmp_path / "compare.json"
    _comparison(path)
    comparison = json.loads(path.read_text())
    path.write_text(json.dumps({**comparison, **change}))
    result = _compare(f"--comparison={path}", f"--output_dir={tmp_path / 'out'}")
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {path}: ")
    assert message in line
