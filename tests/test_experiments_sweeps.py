"""A sweep's rule applied to committed cells: the winner takes over its row."""

import json
import os

import pytest

from keras_pfs.experiments.comparison import variant_name
from keras_pfs.experiments.sweeps import adopt, adopt_winners, winners
from keras_pfs.experiments.table import load_cells


def _campaign():
    row = {"about": "Pixel KD.", "distillation_losses": {"kd": {"temperature": 1.0}}}
    return {
        "folds": {"val": {}, "cross_sequence": {}},
        "rows": {
            "student": {"about": "CE.", "distillation_losses": {}},
            "kd": {**row, "loss_weights": {"kd": 1.0}},
            "skd": {**row, "loss_weights": {"skd": 10.0}},
        },
        "commit_models": {"val": ["kd"]},
        "sweeps": {
            "peers": {
                "threshold": 1.0,
                "keep_as": "{row}_published",
                "variants": [
                    {"row": "kd", "loss_weights": {"kd": 0.5}},
                    {"row": "kd", "loss_weights": {"kd": 2.0}},
                    {"row": "skd", "loss_weights": {"skd": 5.0}},
                    {"row": "skd", "loss_weights": {"skd": 20.0}},
                ],
            }
        },
    }


def _cell(root, fold, row, seed, miou, model=False):
    cell = {"fold": fold, "row": row, "seed": seed, "miou": miou}
    if model:
        path = root / "models" / fold / f"{row}_seed{seed}.keras"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{row} {seed}")
        cell["model"] = os.path.relpath(path, root)
    path = root / "cells" / fold / row / f"seed{seed}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(cell))


def _workdir(root, fold, name, seed):
    path = root / "cache" / fold / name / f"seed{seed}"
    path.mkdir(parents=True)
    (path / "model.keras").write_text(f"{name} {seed}")


@pytest.fixture
def sweep_done(tmp_path):
    for seed, miou in enumerate([0.40, 0.38, 0.41]):
        _cell(tmp_path, "val", "kd", seed, miou, model=True)
        _workdir(tmp_path, "val", "kd", seed)
    _cell(tmp_path, "cross_sequence", "kd", 0, 0.30)
    _cell(tmp_path, "val", "kd@kd=0.5", 0, 0.415)  # +1.5
    _cell(tmp_path, "val", "kd@kd=2.0", 0, 0.425)  # +2.5: the winner
    _workdir(tmp_path, "val", "kd@kd=2.0", 0)
    _cell(tmp_path, "val", "skd", 0, 0.40)
    _cell(tmp_path, "val", "skd@skd=5.0", 0, 0.45)  # skd@skd=20.0 still to run
    return tmp_path


def test_the_largest_gain_over_the_threshold_wins_a_finished_row(sweep_done):
    campaign = _campaign()
    found = winners(campaign, "peers", load_cells(str(sweep_done), "val"))
    assert list(found) == ["kd"]  # skd's sweep is not finished: no decision
    variant, gain = found["kd"]
    assert variant_name(variant) == "kd@kd=2.0"
    assert gain == pytest.approx(2.5)
    campaign["sweeps"]["peers"]["threshold"] = 3.0
    assert winners(campaign, "peers", load_cells(str(sweep_done), "val")) == {}


def _adopt(root, campaign, row):
    variant, _ = winners(campaign, "peers", load_cells(str(root), "val"))[row]
    adopt(
        campaign,
        "peers",
        "val",
        row,
        variant,
        str(root),
        str(root / "cache"),
        str(root),
    )


def test_the_winner_takes_over_the_row_and_the_old_setting_is_kept(sweep_done):
    root = sweep_done
    campaign = _campaign()
    _adopt(root, campaign, "kd")

    assert list(campaign["rows"]) == ["student", "kd_published", "kd", "skd"]
    assert campaign["rows"]["kd"]["loss_weights"] == {"kd": 2.0}
    assert campaign["rows"]["kd_published"]["loss_weights"] == {"kd": 1.0}
    names = [variant_name(v) for v in campaign["sweeps"]["peers"]["variants"]]
    assert names[:2] == ["kd_published@kd=0.5", "kd_published@kd=2.0"]
    assert campaign["commit_models"]["val"] == ["kd", "kd_published"]
    assert ["kd", "kd_published"] in campaign["also_paired"]
    # Every committed figure keeps its meaning under its new name.
    val = load_cells(str(root), "val")
    assert [val["kd_published"][s]["miou"] for s in range(3)] == [0.40, 0.38, 0.41]
    assert val["kd_published@kd=2.0"][0]["miou"] == 0.425
    model = root / val["kd_published"][1]["model"]
    assert model.name == "kd_published_seed1.keras"
    assert model.read_text() == "kd 1"
    assert load_cells(str(root), "cross_sequence")["kd_published"][0]["miou"] == 0.30
    assert (root / "cache" / "val" / "kd_published" / "seed2").is_dir()
    # The row's seed 0 is the winner's run; its other seeds run next.
    assert list(val["kd"]) == [0]
    assert val["kd"][0]["miou"] == 0.425
    assert val["kd"][0]["reused_from"] == "cells/val/kd_published@kd=2.0/seed0.json"
    assert (root / val["kd"][0]["model"]).read_text() == "kd@kd=2.0 0"
    assert not (root / "cache" / "val" / "kd").exists()
    # Decided rows are not decided again; skd's sweep is still unfinished.
    assert winners(campaign, "peers", load_cells(str(root), "val")) == {}

    _cell(root, "val", "skd@skd=20.0", 0, 0.43)  # skd's sweep finishes later
    _adopt(root, campaign, "skd")
    assert list(campaign["rows"]) == [
        "student",
        "kd_published",
        "kd",
        "skd_published",
        "skd",
    ]
    val = load_cells(str(root), "val")
    assert val["skd"][0]["miou"] == 0.45  # skd@skd=5.0 won, +5.0
    assert "model" not in val["skd"][0]  # skd's models are not committed
    assert val["kd"][0]["miou"] == 0.425  # the first adoption is untouched


@pytest.mark.parametrize(
    "taken",
    [
        "cells/val/kd_published@kd=0.5",  # a variant's new name
        "models/val/kd_published_seed2.keras",  # a model's new name
        "cache/val/kd_published",  # the work directories' new name
    ],
)
def test_nothing_moves_when_a_target_is_taken(sweep_done, taken):
    root = sweep_done
    (root / taken).mkdir(parents=True)
    files = sorted(str(p) for p in root.rglob("*"))
    campaign = _campaign()
    before = json.dumps(campaign)
    with pytest.raises(ValueError, match="exists: nothing is moved over it"):
        _adopt(root, campaign, "kd")
    assert json.dumps(campaign) == before
    assert sorted(str(p) for p in root.rglob("*")) == files


def test_a_winner_whose_work_directory_is_gone_runs_seed_0_again(sweep_done):
    root = sweep_done
    (root / "cache" / "val" / "kd@kd=2.0" / "seed0" / "model.keras").unlink()
    campaign = _campaign()
    _adopt(root, campaign, "kd")
    assert campaign["rows"]["kd"]["loss_weights"] == {"kd": 2.0}
    assert "kd" not in load_cells(str(root), "val")  # no model to commit


def test_adopt_winners_rewrites_the_comparison_file(sweep_done, monkeypatch):
    root = sweep_done
    monkeypatch.chdir(root)  # cells name their models relative to it
    comparison = {**_campaign(), "config": "config.py", "about": "a note"}
    comparison["rows"]["kd"]["about"] = "Pixel KD."
    path = root / "compare.json"
    path.write_text(json.dumps(comparison))
    adopt_winners(str(path), "peers", "val", str(root), str(root / "cache"))
    written = json.loads(path.read_text())
    assert written["rows"]["kd"]["loss_weights"] == {"kd": 2.0}
    assert "kd_published" in written["rows"]
    assert written["about"] == "a note"  # the file's other keys are kept as they were
    assert "peers" not in written  # no defaults are written in
    with pytest.raises(ValueError, match="no sweep 'nope'"):
        adopt_winners(str(path), "nope", "val", str(root))
