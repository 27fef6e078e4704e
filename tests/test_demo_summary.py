"""The demo's summary: paired gains per seed, and the regime it ran."""

import json
import os
import subprocess
import sys

import pytest

from tests.run_script import ROOT


def fake_run(path, miou, labeled_fraction=None):
    os.makedirs(path)
    with open(os.path.join(path, "eval.json"), "w") as f:
        json.dump({"miou": miou, "per_class_iou": [miou]}, f)
    config = {} if labeled_fraction is None else {"labeled_fraction": labeled_fraction}
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(config, f)


@pytest.mark.parametrize(
    "fraction, name", [(0.03125, "label-efficient"), (None, "full labels")]
)
def test_summary_keeps_the_gain_per_seed_and_names_the_regime(tmp_path, fraction, name):
    run = str(tmp_path)
    fake_run(os.path.join(run, "teacher"), 0.5)
    for seed, (base, distilled) in enumerate([(0.30, 0.36), (0.32, 0.31)]):
        fake_run(os.path.join(run, "student", f"seed{seed}"), base, fraction)
        fake_run(os.path.join(run, "distilled", f"seed{seed}"), distilled, fraction)
    subprocess.run(
        [sys.executable, os.path.join(ROOT, "scripts", "demo_summary.py"), run, "0,1"],
        check=True,
        capture_output=True,
    )
    with open(os.path.join(run, "summary.json")) as f:
        summary = json.load(f)
    assert summary["paired"]["seeds"] == [0, 1]
    assert summary["paired"]["gain"] == pytest.approx([0.06, -0.01])
    assert summary["paired"]["regime"]["name"] == name
    assert summary["regime"]["labeled_fraction"] == (fraction or 1.0)
