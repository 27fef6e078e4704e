"""Sweep variants: their names, their recipes, and the sweep's rule applied.

A sweep (`sweeps.<name>` of a comparison file) runs seed 0
of each variant and compares it with its row's own seed-0 cell. Its rule:
the variant with the largest gain above `threshold` mIoU points wins, once
every variant of the row has its cell. The winner's recipe becomes the
row's; the row's old setting stays as a row of its own (`keep_as`, e.g.
`kd_published`) with its cells, models and work directories, and the sweep's
variants re-point to it, so every committed figure keeps its meaning. The
winner's seed-0 run is the row's seed 0 (same config and seed); the row's
other seeds run next.
"""

import glob
import json
import os
import shutil

from keras_pfs.atomic import write_json_atomically
from keras_pfs.experiments.comparison import (
    load_comparison,
    merged,
    model_file,
    variant_name,
)
from keras_pfs.experiments.records import record_json
from keras_pfs.experiments.table import load_cells
from keras_pfs.run_directory import RunDirectory


def winners(campaign, sweep_name, cells):
    """The variant that wins each row of a finished sweep, by its rule.

    Args:
        campaign: the campaign dict.
        sweep_name: key in `campaign["sweeps"]`.
        cells: `{cell name: {seed: cell}}` of the sweep's fold.

    Returns:
        `{row: (variant, gain in mIoU points)}` for rows whose variants all
        have their seed-0 cell and whose best gain exceeds the threshold.
    """
    sweep = campaign["sweeps"][sweep_name]
    kept = {a["kept_as"] for a in sweep.get("adopted", {}).values()}
    by_row = {}
    for variant in sweep["variants"]:
        if variant["row"] not in kept:
            by_row.setdefault(variant["row"], []).append(variant)
    out = {}
    for row, variants in by_row.items():
        names = [variant_name(v) for v in variants]
        if 0 not in cells.get(row, {}) or any(0 not in cells.get(n, {}) for n in names):
            continue  # not finished: no decision yet
        base = cells[row][0]["miou"]
        gains = [100 * (cells[n][0]["miou"] - base) for n in names]
        best = max(range(len(gains)), key=gains.__getitem__)
        if gains[best] > sweep["threshold"]:
            out[row] = (variants[best], gains[best])
    return out


def _moves(campaign, renames, output_dir, cache_dir, root):
    """Every (source, target) of a rename of cells, models and work
    directories, and every moved cell as it is to be rewritten (path after
    the move, record), for checking before anything moves."""
    moves, rewrites = [], []
    for fold in campaign["folds"]:
        for old, new in renames.items():
            source = os.path.join(output_dir, "cells", fold, old)
            if os.path.isdir(source):
                target = os.path.join(output_dir, "cells", fold, new)
                moves.append((source, target))
                for path in sorted(glob.glob(os.path.join(source, "seed*.json"))):
                    with open(path) as f:
                        cell = json.load(f)
                    cell["row"] = new
                    if "model" in cell:
                        model = model_file(
                            os.path.join(output_dir, "models"), fold, new, cell["seed"]
                        )
                        moves.append((os.path.join(root, cell["model"]), model))
                        cell["model"] = os.path.relpath(model, root)
                    rewrites.append(
                        (os.path.join(target, os.path.basename(path)), cell)
                    )
            work = os.path.join(cache_dir, fold, old)
            if os.path.isdir(work):
                moves.append((work, os.path.join(cache_dir, fold, new)))
    return moves, rewrites


def adopt(campaign, sweep_name, fold, row, variant, output_dir, cache_dir, root):
    """Makes `variant` row `row`'s recipe; the old one becomes `keep_as`.

    Only the row and this sweep's variants of it are renamed (every fold's
    cells, models and work directories), and only once every target is
    free, so a refused adoption moves nothing. Do not adopt while a
    campaign run is going: it would write its tables from the old rows.

    Args:
        campaign: the campaign dict, changed in place (write it back).
        sweep_name: the sweep that chose `variant`.
        fold: the fold the sweep ran on.
        row: the row it takes over.
        variant: the winning variant (a dict of the sweep).
        output_dir: where `cells/` and `models/` are.
        cache_dir: the run cache (work directories per fold).
        root: the repository root (cells name models relative to it).

    Raises:
        ValueError: the sweep states no `keep_as`, the kept names are taken
            (in the campaign or on disk), or the winner has no seed-0 cell.
    """
    sweep = campaign["sweeps"][sweep_name]
    if "keep_as" not in sweep:
        raise ValueError(f"campaign.json: sweeps.{sweep_name} states no keep_as.")
    keep = sweep["keep_as"].format(row=row)
    won = variant_name(variant)
    if keep in campaign["rows"]:
        raise ValueError(f"campaign.json: row {keep!r} exists already.")
    if not os.path.isfile(os.path.join(output_dir, "cells", fold, won, "seed0.json")):
        raise ValueError(f"cells/{fold}/{won}/seed0.json: the winner has no cell.")
    renames = {row: keep}
    for other in sweep["variants"]:
        if other["row"] == row:
            name = variant_name(other)
            renames[name] = keep + name[len(row) :]
    moves, rewrites = _moves(campaign, renames, output_dir, cache_dir, root)
    sources = {source for source, _ in moves}
    seed0 = [
        os.path.join(output_dir, "cells", fold, row),
        model_file(os.path.join(output_dir, "models"), fold, row, 0),
    ]
    for target in [t for _, t in moves] + seed0:
        if os.path.exists(target) and target not in sources:
            raise ValueError(f"{target} exists: nothing is moved over it.")

    for source, target in moves:
        os.rename(source, target)
    for path, cell in rewrites:
        record_json(path, cell)

    old = campaign["rows"][row]
    new = merged(old, variant)
    new["about"] = f"{old['about']} Tuned: {won} won sweeps.{sweep_name}."
    rows = {}
    for name, recipe in campaign["rows"].items():
        if name == row:
            rows[keep] = {
                **old,
                "about": f"{old['about']} The setting before {won} won.",
            }
            rows[row] = new
        else:
            rows[name] = recipe
    campaign["rows"] = rows
    for other in sweep["variants"]:
        if other["row"] == row:
            other["row"] = keep
    campaign.setdefault("also_paired", []).append([row, keep])
    for names in campaign["commit_models"].values():
        if row in names:
            names.append(keep)
    winner = renames[won]
    sweep.setdefault("adopted", {})[row] = {"variant": winner, "kept_as": keep}
    _reuse_seed0(campaign, fold, row, winner, output_dir, cache_dir, root)


def _reuse_seed0(campaign, fold, row, winner, output_dir, cache_dir, root):
    """Writes the winner's seed-0 cell (and model) as the row's seed 0,
    unless the model is to be committed and its work directory is gone
    (then the row's seed 0 runs again)."""
    with open(os.path.join(output_dir, "cells", fold, winner, "seed0.json")) as f:
        cell = json.load(f)
    cell["row"] = row
    cell["reused_from"] = f"cells/{fold}/{winner}/seed0.json"
    cell.pop("model", None)
    if row in campaign["commit_models"].get(fold, []):
        source = RunDirectory(os.path.join(cache_dir, fold, winner, "seed0")).model_file
        if not os.path.isfile(source):
            print(f"{source} is gone: {row}'s seed 0 will run again.")
            return
        model = model_file(os.path.join(output_dir, "models"), fold, row, 0)
        shutil.copyfile(source, model)
        cell["model"] = os.path.relpath(model, root)
    record_json(os.path.join(output_dir, "cells", fold, row, "seed0.json"), cell)


def adopt_winners(path, sweep, fold, output_dir, work_dir=None):
    """Applies `sweep`'s rule to its cells of `fold` and rewrites the
    comparison file after each row that changes.

    Args:
        path: the comparison file; only its rows, sweeps, pairs and kept
            models change (its other keys are written back as they were).
        sweep: the sweep whose rule to apply.
        fold: the fold it ran on.
        output_dir: where `cells/` and `models/` are.
        work_dir: the cells' work directories (default
            `<output_dir>/work`).

    Raises:
        ValueError: the sweep states no `threshold`, or `adopt`'s errors.
    """
    comparison = load_comparison(path)
    if sweep not in comparison["sweeps"]:
        raise ValueError(f"{path}: no sweep {sweep!r}.")
    if "threshold" not in comparison["sweeps"][sweep]:
        raise ValueError(f"{path}: sweeps.{sweep} states no rule threshold.")
    with open(path) as f:
        written = json.load(f)
    written.setdefault("commit_models", {})
    work_dir = work_dir or os.path.join(output_dir, "work")
    cells = load_cells(output_dir, fold)
    for row, (variant, gain) in winners(comparison, sweep, cells).items():
        print(f"{row}: {variant_name(variant)} wins ({gain:+.2f} mIoU)", flush=True)
        adopt(written, sweep, fold, row, variant, output_dir, work_dir, os.getcwd())
        write_json_atomically(written, path)
