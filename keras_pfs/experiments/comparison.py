"""A comparison file: the base config, rows as overrides, seeds, folds, targets.

A comparison is data, a JSON object (`benchmarks/camvid/campaign.json` is
one):

```json
{
  "config": "configs/my_data.py",
  "set": {"epochs": 24},
  "teacher": {"set": {"epochs": 100}},
  "rows": {
    "student": {"distillation_losses": {}},
    "pfs+imitation": {"distillation_losses": {"pfs": {}, "imitation": {}},
                      "loss_weights": {"pfs": 10.0, "imitation": 1.0}}
  },
  "seeds": [0, 1, 2]
}
```

`config` is an experiment config file and `set` overrides it for every
row; a row sets `distillation_losses`, `loss_weights` and its own `set`. A
fold names its splits (`{"train": "train", "val": "val"}`, default: the
config's own) or builds them from a list split by file-name prefix (`from`,
`train_sequences`, `val_sequences`, e.g. CamVid's sequences). Distilled rows
need a teacher: `teacher.model` (a `.keras` file, `{fold}` is replaced by
the fold), or `teacher.set`, a teacher trained once per fold (seed 0) and
kept under `teacher_dir` (default `<output>/models`). Optional: `ours`,
`baseline`, `peers`, `also_paired`, `full_label_row` (the rows the table
pairs), `targets` (see `keras_pfs.experiments.table.targets`), `sweeps`
(variants of a row and the rule that adopts one), `commit_models` (rows
whose final models are copied under `models_dir`, per fold). Relative
paths are relative to the current directory. Keys named `about`, `source`,
`omitted` or `chosen` are notes.
"""

import copy
import json
import os

from keras_pfs.config import load_config

_NOTES = ("about", "source", "omitted", "chosen")
_KEYS = {
    "name",
    "config",
    "set",
    "seeds",
    "folds",
    "teacher",
    "teacher_dir",
    "models_dir",
    "rows",
    "ours",
    "baseline",
    "peers",
    "also_paired",
    "full_label_row",
    "targets",
    "sweeps",
    "commit_models",
    "labeled_fraction",
    "schedule",
}
_ROW_KEYS = {"distillation_losses", "loss_weights", "set"}
TEACHER = "teacher"


def variant_name(variant):
    """A sweep variant's cell name, e.g. `skd@skd=5.0` or
    `pfs+imitation@imitation.weighting=tv`."""
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
    out = copy.deepcopy(row)
    for key, value in variant.items():
        if key == "distillation_losses":
            for loss, options in value.items():
                out[key][loss].update(options)
        elif key in ("loss_weights", "set"):
            out.setdefault(key, {}).update(value)
    return out


def model_file(models_root, fold, name, seed):
    """Where a cell's kept model goes under `models_root`."""
    file = "teacher.keras" if name == TEACHER else f"{name}_seed{seed}.keras"
    return os.path.join(models_root, fold, file)


def cell_path(output_dir, fold, name, seed):
    """A cell's result file."""
    return os.path.join(output_dir, "cells", fold, name, f"seed{seed}.json")


def _unknown(keys, allowed, where):
    unknown = sorted(set(keys) - set(allowed) - set(_NOTES))
    if unknown:
        raise ValueError(
            f"{where}: unknown key {unknown[0]!r}; known: {', '.join(sorted(allowed))}."
        )


def _defaults(comparison, path):
    rows = comparison["rows"]
    # A row without distillation_losses keeps the config's recipe.
    plain = [n for n, r in rows.items() if r.get("distillation_losses", True) == {}]
    distilled = [n for n in rows if n not in plain]
    comparison.setdefault("name", os.path.splitext(os.path.basename(path))[0])
    comparison.setdefault("set", {})
    comparison.setdefault("seeds", [0])
    comparison.setdefault("folds", {"val": {}})
    comparison.setdefault("baseline", (plain or list(rows))[0])
    comparison.setdefault("ours", (distilled or list(rows)[-1:])[0])
    named = {
        comparison["ours"],
        comparison["baseline"],
        comparison.get("full_label_row"),
    }
    comparison.setdefault("peers", [n for n in rows if n not in named])
    comparison.setdefault("also_paired", [])
    for key in ("targets", "sweeps", "commit_models"):
        comparison.setdefault(key, {})
    return comparison


def _check_names(comparison, path):
    rows = comparison["rows"]
    named = [
        ("ours", comparison["ours"]),
        ("baseline", comparison["baseline"]),
        *(("peers", p) for p in comparison["peers"]),
        *(("also_paired", n) for pair in comparison["also_paired"] for n in pair),
        *(
            (f"sweeps.{s}", v["row"])
            for s, sweep in comparison["sweeps"].items()
            for v in sweep.get("variants", [])
        ),
        *(
            (f"commit_models.{fold}", n)
            for fold, names in comparison["commit_models"].items()
            for n in names
            if n != TEACHER
        ),
    ]
    if "full_label_row" in comparison:
        named.append(("full_label_row", comparison["full_label_row"]))
    for key, name in named:
        if name.split("@")[0] not in rows:  # a row, or a sweep variant of one
            raise ValueError(f"{path}: {key} names no row: {name!r}.")
    for fold in comparison["commit_models"]:
        if fold not in comparison["folds"]:
            raise ValueError(f"{path}: commit_models names no fold: {fold!r}.")


def load_comparison(path):
    """Reads and checks a comparison file; fills in its defaults.

    Only the file's structure is checked here; `cell_configs` builds every
    cell's `ExperimentConfig`, so that a bad row fails before anything runs.

    Args:
        path: the JSON file.

    Returns:
        The comparison as a dict, with `name`, `set`, `seeds`, `folds`,
        `ours`, `baseline`, `peers`, `also_paired`, `targets`, `sweeps` and
        `commit_models` filled in.

    Raises:
        ValueError: one line naming the file and the key at fault.

    Example:

    >>> comparison = load_comparison("benchmarks/camvid/campaign.json")
    >>> comparison["ours"]
    'pfs+imitation'
    """
    if not os.path.isfile(path):
        raise ValueError(f"Comparison file {path} does not exist.")
    with open(path) as f:
        try:
            comparison = json.load(f)
        except json.JSONDecodeError as error:
            raise ValueError(f"Comparison file {path}: not JSON ({error}).") from None
    if not isinstance(comparison, dict):
        raise ValueError(f"Comparison file {path}: must hold a JSON object.")
    _unknown(comparison, _KEYS, path)
    for key in ("config", "rows"):
        if key not in comparison:
            raise ValueError(f"{path}: the key {key!r} is required.")
    if not comparison["rows"] or not isinstance(comparison["rows"], dict):
        raise ValueError(f"{path}: rows must name at least one row.")
    for name, row in comparison["rows"].items():
        if name == TEACHER or "@" in name:
            raise ValueError(f"{path}: row name {name!r} is reserved.")
        _unknown(row, _ROW_KEYS, f"{path}: rows.{name}")
    comparison = _defaults(comparison, path)
    _check_names(comparison, path)
    return comparison


def recipe_of(comparison, name, variant=None):
    """What a cell trains: role, losses, weights and config values.

    Args:
        comparison: the loaded comparison.
        name: a row, or `"teacher"`.
        variant: a sweep variant of the row, merged in.

    Returns:
        `{"role", "set"}` for the teacher; `{"role", "distillation_losses",
        "loss_weights", "set"}` for a row, `set` being the comparison's
        `set` with the row's (and the variant's) over it. A row without
        `distillation_losses` keeps the config's losses and weights (None).
    """
    if name == TEACHER:
        return {"role": TEACHER, "set": dict(comparison["teacher"].get("set", {}))}
    row = merged(comparison["rows"][name], variant or {})
    return {
        "role": "student",
        "distillation_losses": row.get("distillation_losses"),
        # Weights go with the losses: a row that names its losses and no
        # weights gets the losses' defaults, not the config's weights.
        "loss_weights": row.get(
            "loss_weights", {} if "distillation_losses" in row else None
        ),
        "set": {**comparison["set"], **row.get("set", {})},
    }


def cell_values(recipe, splits, seed):
    """The config values one cell sets: its recipe, its fold's splits, seed."""
    values = {**recipe["set"], "seed": seed}
    if splits:
        values["train_split"], values["val_split"] = splits
    for key in ("distillation_losses", "loss_weights"):
        if recipe.get(key) is not None:
            values[key] = copy.deepcopy(recipe[key])
    return values


def cell_config(comparison, recipe, splits, seed, overrides=()):
    """The validated `ExperimentConfig` of one cell.

    Args:
        comparison: the loaded comparison.
        recipe: `recipe_of(...)`.
        splits: `(train_split, val_split)`, or None for the config's own.
        seed: the cell's seed.
        overrides: `"key=value"` strings applied last (e.g. `data_dir`).

    Raises:
        ValueError: the config's error, naming the key.
    """
    return load_config(
        comparison["config"], overrides, cell_values(recipe, splits, seed)
    )


def fold_splits(fold, spec, data_dir, folder):
    """`(train_split, val_split)` config values of a fold, or None.

    A fold built from sequences (`from`, `train_sequences`, `val_sequences`)
    gets list files with absolute paths in `folder` (the dataset folder may
    be read-only); split names then are their paths without `.txt`, which
    the list-file reader joins unchanged. A frame's sequence is its file
    name up to the first `_` (CamVid's naming).

    Args:
        fold: the fold's name.
        spec: the fold's dict.
        data_dir: the dataset folder (holds `<from>.txt`).
        folder: where built list files go.

    Raises:
        ValueError: a sequence without frames, or a missing list.
    """
    if "from" not in spec:
        return (spec["train"], spec["val"]) if spec else None
    source = os.path.join(data_dir or "", spec["from"] + ".txt")
    if not os.path.isfile(source):
        raise ValueError(f"Fold {fold}: {source} does not exist (config data_dir).")
    with open(source) as f:
        pairs = [line.split() for line in f if line.strip()]
    os.makedirs(folder, exist_ok=True)
    splits = []
    for part in ("train", "val"):
        sequences = tuple(spec[f"{part}_sequences"])
        lines = [
            " ".join(os.path.join(data_dir, p) for p in pair)
            for pair in pairs
            if os.path.basename(pair[0]).split("_")[0] in sequences
        ]
        if not lines:
            raise ValueError(f"Fold {fold}: no frames of {sequences} in {source}.")
        path = os.path.join(folder, f"{fold}_{part}")
        with open(path + ".txt", "w") as f:
            f.write("\n".join(lines) + "\n")
        splits.append(path)
    return tuple(splits)
