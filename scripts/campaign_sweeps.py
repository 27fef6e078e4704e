"""Sweep variants: their names, their recipes, and the sweep's rule applied.

A sweep (`sweeps.<name>` in `benchmarks/camvid/campaign.json`) runs seed 0
of each variant and compares it with its row's own seed-0 cell. Its rule:
the variant with the largest gain above `threshold` mIoU points wins, once
every variant of the row has its cell. The winner's recipe becomes the
row's; the row's old setting stays as a row of its own (`keep_as`, e.g.
`kd_published`) with its cells, models and work directories, and the sweep's
variants re-point to it, so every committed figure keeps its meaning. The
winner's seed-0 run is the row's seed 0 (same config and seed); the row's
other seeds run next.
"""

import json
import os
import shutil


def variant_name(variant):
    """A sweep variant's cell name, e.g. `skd@loss_weights.skd=5.0`."""
    parts = []
    for key in ("set", "loss_weights", "distillation_losses"):
        for name, value in sorted(variant.get(key, {}).items()):
            if isinstance(value, dict):
                parts += [f"{name}.{k}={v}" for k, v in sorted(value.items())]
            else:
                text = "x".join(map(str, value)) if isinstance(value, list) else value
                parts.append(f"{name}={text}")
    return variant["row"] + "@" + ",".join(parts)


def merged(row, variant):
    """A copy of a row's recipe with a variant's overrides merged in."""
    out = json.loads(json.dumps(row))
    for key, value in variant.items():
        if key == "distillation_losses":
            for loss, options in value.items():
                out[key][loss].update(options)
        elif key in ("loss_weights", "set"):
            out.setdefault(key, {}).update(value)
    return out


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


def _rename_row(folder, row, keep, on_cell=None):
    """Renames `row` and `row@*` under `folder` to `keep` and `keep@*`."""
    if not os.path.isdir(folder):
        return
    for name in sorted(os.listdir(folder)):
        if name == row or name.startswith(row + "@"):
            target = os.path.join(folder, keep + name[len(row) :])
            if os.path.exists(target):
                raise ValueError(f"{target} exists: nothing is moved over it.")
            os.rename(os.path.join(folder, name), target)
            if on_cell:
                for file in sorted(os.listdir(target)):
                    on_cell(os.path.join(target, file), keep + name[len(row) :])


def adopt(campaign, sweep_name, row, variant, output_dir, cache_dir, root):
    """Makes `variant` row `row`'s recipe; the old one becomes `keep_as`.

    Args:
        campaign: the campaign dict, changed in place (write it back).
        sweep_name: the sweep that chose `variant`.
        row: the row it takes over.
        variant: the winning variant (a dict of the sweep).
        output_dir: where `cells/` and `models/` are.
        cache_dir: the run cache (work directories per fold).
        root: the repository root (cells name models relative to it).

    Raises:
        ValueError: the kept row's name is taken, in the campaign or on disk.
    """
    sweep = campaign["sweeps"][sweep_name]
    keep = sweep["keep_as"].format(row=row)
    won = variant_name(variant)
    winner = keep + won[len(row) :]  # the winner's cell name once moved
    fold = sweep.get("fold", "val")
    # Everything is checked before anything moves.
    if keep in campaign["rows"]:
        raise ValueError(f"campaign.json: row {keep!r} exists already.")
    for name in campaign["folds"]:
        for folder in (os.path.join(output_dir, "cells"), cache_dir):
            taken = os.path.join(folder, name, keep)
            if os.path.exists(taken):
                raise ValueError(f"{taken} exists: nothing is moved over it.")
    if not os.path.isfile(os.path.join(output_dir, "cells", fold, won, "seed0.json")):
        raise ValueError(f"cells/{fold}/{won}/seed0.json: the winner has no cell.")
    old = campaign["rows"][row]
    new = merged(old, variant)
    new["about"] = f"{old['about']} Tuned: {won} won sweeps.{sweep_name}."
    kept = {**old, "about": f"{old['about']} The setting before {won} won."}
    campaign["rows"] = {
        **{k: v for k, v in campaign["rows"].items() if k != row},
        keep: kept,
        row: new,
    }
    for other in sweep["variants"]:
        if other["row"] == row:
            other["row"] = keep
    campaign.setdefault("also_paired", []).append([row, keep])
    for names in campaign["commit_models"].values():
        if row in names:
            names.append(keep)

    def move_model(path, name):
        with open(path) as f:
            cell = json.load(f)
        cell["row"] = name
        if "model" in cell:
            model = cell["model"].replace(f"/{row}_seed", f"/{keep}_seed")
            os.rename(os.path.join(root, cell["model"]), os.path.join(root, model))
            cell["model"] = model
        with open(path, "w") as f:
            json.dump(cell, f, indent=1)

    for name in campaign["folds"]:
        _rename_row(os.path.join(output_dir, "cells", name), row, keep, move_model)
        _rename_row(os.path.join(cache_dir, name), row, keep)
    sweep.setdefault("adopted", {})[row] = {"variant": winner, "kept_as": keep}
    _reuse_seed0(campaign, fold, row, winner, output_dir, cache_dir, root)


def _reuse_seed0(campaign, fold, row, winner, output_dir, cache_dir, root):
    """The winner's seed-0 cell (and model) as the row's seed 0."""
    with open(os.path.join(output_dir, "cells", fold, winner, "seed0.json")) as f:
        cell = json.load(f)
    cell["row"] = row
    cell["reused_from"] = f"cells/{fold}/{winner}/seed0.json"
    if row in campaign["commit_models"].get(fold, []):
        source = os.path.join(cache_dir, fold, winner, "seed0", "model.keras")
        if not os.path.isfile(source):
            print(f"{source} is gone: {row}'s seed 0 will run again.")
            return
        model = os.path.join(output_dir, "models", fold, f"{row}_seed0.keras")
        shutil.copyfile(source, model)
        cell["model"] = os.path.relpath(model, root)
    path = os.path.join(output_dir, "cells", fold, row, "seed0.json")
    os.makedirs(os.path.dirname(path))
    with open(path, "w") as f:
        json.dump(cell, f, indent=1)
