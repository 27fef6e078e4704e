"""The demo's summary: paired gains per seed, and the regime it ran."""

import json
import os

import numpy as np
import pytest

from keras_pfs.experiments.summary import paired_summary, summary_lines
from tests.run_script import ROOT, run_python


def fake_cell(output, row, seed, miou, labeled_fraction=None):
    config = {} if labeled_fraction is None else {"labeled_fraction": labeled_fraction}
    cell = {"row": row, "seed": seed, "miou": miou, "config": config}
    path = os.path.join(output, "cells", "val", row, f"seed{seed}.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(cell, f)


@pytest.mark.parametrize(
    "fraction, name", [(0.03125, "label-efficient"), (None, "full labels")]
)
def test_summary_keeps_the_gain_per_seed_and_names_the_regime(tmp_path, fraction, name):
    output = str(tmp_path)
    fake_cell(output, "teacher", 0, 0.5)
    for seed, (base, distilled) in enumerate([(0.30, 0.36), (0.32, 0.31)]):
        fake_cell(output, "student", seed, base, fraction)
        fake_cell(output, "distilled", seed, distilled, fraction)
    script = os.path.join(ROOT, "scripts", "demo_summary.py")
    done = run_python(script, output, "0,1", timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    with open(os.path.join(output, "summary.json")) as f:
        summary = json.load(f)
    assert summary["teacher"]["miou"] == 0.5
    assert summary["student"]["miou_seeds"] == [0.30, 0.32]
    assert summary["paired"]["seeds"] == [0, 1]
    assert summary["paired"]["gain"] == pytest.approx([0.06, -0.01])
    assert summary["paired"]["regime"]["name"] == name
    assert summary["regime"]["labeled_fraction"] == (fraction or 1.0)


def test_paired_summary_from_cells_and_its_lines():
    def cell(miou, fraction=0.25):
        return {"miou": miou, "config": {"labeled_fraction": fraction}}

    cells = {
        "student": {0: cell(0.40), 1: cell(0.50), 2: cell(0.9)},
        "distilled": {0: cell(0.45), 1: cell(0.48), 2: cell(0.1)},
    }
    summary = paired_summary(cells, [0, 1])
    assert "teacher" not in summary  # reused, not trained by the comparison
    assert summary["distilled"]["miou_seeds"] == [0.45, 0.48]
    assert summary["paired"]["gain"] == pytest.approx([0.05, -0.02])
    assert summary["distillation_gain"] == pytest.approx(0.015)
    # 95% t-interval of the mean gain, two seeds: t_{0.975, 1} = 12.706.
    half = 12.706 * np.std([0.05, -0.02], ddof=1) / np.sqrt(2)
    assert summary["paired"]["ci95"] == pytest.approx([0.015 - half, 0.015 + half])
    assert summary["regime"] == {"name": "label-efficient", "labeled_fraction": 0.25}
    lines = summary_lines(summary)
    assert lines[1] == "student        45.00   40.00, 50.00"
    assert (
        lines[-2]
        == "regime: label-efficient, labels on 25% of the students' training images"
    )
    low, high = 100 * (0.015 - half), 100 * (0.015 + half)
    assert lines[-1].endswith(f"+5.00, -2.00; mean +1.50 [{low:+.2f}, {high:+.2f}]")
    one_seed = paired_summary(cells, [0])
    assert "ci95" not in one_seed["paired"]
    assert summary_lines(one_seed)[-1].endswith("+5.00; mean +5.00")
