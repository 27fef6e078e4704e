"""CamVid campaign: paired (fold, row, seed) cells, committed one file each.

The campaign is data (`benchmarks/camvid/campaign.json`): folds, rows
(recipes), sweeps, seeds and targets. Each cell trains through the package's
own commands in a work directory under `--cache_dir` (outside the
repository), which resumes a killed run from its last epoch; its result goes
to `benchmarks/camvid/cells/<fold>/<row>/seed<k>.json` (config, commit,
final and best-epoch mIoU, per-class IoU, learning curve, wall time). Only
missing cells run; the table is rebuilt from the committed cells, so a
campaign spans sessions.

Usage:
    python scripts/benchmark_camvid.py --data_dir ../shared/datasets/camvid \
        --cells teacher                        # the val fold's teacher
    python scripts/benchmark_camvid.py --data_dir ../shared/datasets/camvid \
        --sweep schedule                       # baseline schedule sweep
    python scripts/benchmark_camvid.py --data_dir ../shared/datasets/camvid \
        --fold cross_sequence                  # every row of that fold
    python scripts/benchmark_camvid.py --sweep peers --adopt
                                               # apply the sweep's rule
    python scripts/benchmark_camvid.py --norun # table from committed cells
"""

import json
import os
import shutil
import subprocess
import sys
import time

from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchmark_harness as harness  # noqa: E402
from campaign_sweeps import (  # noqa: E402
    adopt,
    merged,
    model_file,
    variant_name,
    winners,
)
from campaign_table import load_cells, write_tables  # noqa: E402

ROOT = harness.ROOT
OUTPUT = os.path.join(ROOT, "benchmarks", "camvid")

flags.DEFINE_string("data_dir", None, "CamVid folder (train.txt, val.txt).")
flags.DEFINE_string(
    "cache_dir",
    os.path.join(os.path.expanduser("~"), ".cache", "keras-pfs", "camvid"),
    "Run cache (work directories, backups): outside the repository.",
)
flags.DEFINE_string("campaign", os.path.join(OUTPUT, "campaign.json"), "Campaign.")
flags.DEFINE_string("output_dir", OUTPUT, "Where cells, models and tables go.")
flags.DEFINE_string("fold", "val", "Fold whose cells to run.")
flags.DEFINE_list("cells", None, "Rows to run (default: teacher, then all rows).")
flags.DEFINE_string("sweep", None, "Run this sweep's variants instead of rows.")
flags.DEFINE_list("seeds", None, "Seeds (default: the sweep's, else the campaign's).")
flags.DEFINE_bool("norun", False, "Only rebuild the tables from the cells.")
flags.DEFINE_bool(
    "adopt",
    False,
    "Apply --sweep's rule to its committed cells: each row's winning variant "
    "becomes the row's recipe (campaign.json rewritten, cells moved), then stop.",
)
flags.DEFINE_multi_string("set", [], "Extra config overrides (smoke tests only).")
FLAGS = flags.FLAGS


def fold_splits(fold, spec, data_dir, cache_dir):
    """`(train_split, val_split)` config values of a fold.

    A fold built from sequences gets list files with absolute paths in the
    cache (the dataset folder is read-only); split names then are their
    paths without `.txt`, which the list-file reader joins unchanged.
    """
    if "from" not in spec:
        return spec["train"], spec["val"]
    with open(os.path.join(data_dir, spec["from"] + ".txt")) as f:
        pairs = [line.split() for line in f if line.strip()]
    folder = os.path.join(cache_dir, "folds")
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
            raise ValueError(
                f"Fold {fold}: no frames of {sequences} in {spec['from']}."
            )
        path = os.path.join(folder, f"{fold}_{part}")
        with open(path + ".txt", "w") as f:
            f.write("\n".join(lines) + "\n")
        splits.append(path)
    return tuple(splits)


def recipe_of(campaign, name, variant=None):
    """The row's recipe with a sweep variant's overrides merged in."""
    if name == "teacher":
        return {"role": "teacher", "set": dict(campaign["teacher"]["set"])}
    row = merged(campaign["rows"][name], variant or {})
    return {
        "role": "student",
        "distillation_losses": row["distillation_losses"],
        "loss_weights": row.get("loss_weights", {}),
        "set": {**(campaign["schedule"]["set"] or {}), **row.get("set", {})},
    }


def _values(recipe, splits, data_dir, seed):
    """The config values a cell sets: its recipe, its fold's data and seed."""
    values = {
        **recipe["set"],
        "data_dir": data_dir,
        "train_split": splits[0],
        "val_split": splits[1],
        "seed": seed,
    }
    if recipe["role"] == "student":
        values["distillation_losses"] = recipe["distillation_losses"]
        values["loss_weights"] = recipe["loss_weights"]
    return values


def check_finished_run(workdir, values, overridden=()):
    """Refuses a finished work directory whose run set other `values`.

    A row whose recipe changed (e.g. a sweep winner taking over the row) must
    not adopt the old recipe's finished run as its own.

    Args:
        workdir: the cell's work directory, holding `config.json`.
        values: the config values the cell sets.
        overridden: keys that `--set` overrides (not compared).

    Raises:
        ValueError: a value differs, naming the directory and the key.
    """
    with open(os.path.join(workdir, "config.json")) as f:
        config = json.load(f)
    for key, value in values.items():
        if key not in overridden and config.get(key) != json.loads(json.dumps(value)):
            raise ValueError(
                f"{workdir} holds a finished run with {key}={config.get(key)!r}, "
                f"not {value!r}: move it aside to rerun the cell."
            )


def models_root(campaign, key):
    """Where the campaign's fold teachers (`teacher_dir`) or committed models
    (`models_dir`) are: the campaign's path relative to the repository, else
    `<output_dir>/models`, always for smoke runs (`--set`)."""
    if key in campaign and not FLAGS.set:
        return os.path.join(ROOT, campaign[key])
    return os.path.join(FLAGS.output_dir, "models")


def run_cell(campaign, fold, name, recipe, seed, splits, data_dir):
    """Runs (or resumes) one cell unless its result file exists; returns it."""
    cell_path = os.path.join(FLAGS.output_dir, "cells", fold, name, f"seed{seed}.json")
    if os.path.isfile(cell_path):
        print(f"done: {fold}/{name}/seed{seed}", flush=True)
        with open(cell_path) as f:
            return json.load(f)
    teacher = os.path.join(models_root(campaign, "teacher_dir"), fold, "teacher.keras")
    distilled = bool(recipe.get("distillation_losses"))
    if distilled and not os.path.isfile(teacher):
        raise ValueError(
            f"Cell {fold}/{name}: run the fold's teacher first ({teacher})."
        )
    workdir = os.path.join(FLAGS.cache_dir, fold, name, f"seed{seed}")
    values = _values(recipe, splits, data_dir, seed)
    command = [
        sys.executable,
        "-m",
        "keras_pfs.cli.distill" if distilled else "keras_pfs.cli.train",
        "--config",
        campaign["config"],
        *[f"--set={k}={v!r}" for k, v in values.items()],
        *[f"--set={s}" for s in FLAGS.set],
        f"--workdir={workdir}",
    ]
    command += [f"--teacher={teacher}"] if distilled else [f"--role={recipe['role']}"]
    clock = os.path.join(workdir, "wall_seconds.txt")
    if not os.path.isfile(os.path.join(workdir, "model.keras")):
        print("running:", " ".join(command), flush=True)
        start = time.time()
        subprocess.run(command, check=True, cwd=ROOT)
        with open(clock, "a") as f:
            f.write(f"{time.time() - start}\n")
    check_finished_run(workdir, values, {s.split("=", 1)[0] for s in FLAGS.set})
    cell = _record(workdir, fold, name, recipe, seed, command, clock)
    if name in campaign["commit_models"].get(fold, []):
        model = os.path.join(
            models_root(campaign, "models_dir"),
            fold,
            os.path.basename(model_file(FLAGS.output_dir, fold, name, seed)),
        )
        os.makedirs(os.path.dirname(model), exist_ok=True)
        if not os.path.isfile(model):  # committed models are never replaced
            shutil.copyfile(os.path.join(workdir, "model.keras"), model)
        cell["model"] = os.path.relpath(model, ROOT)
    return harness.record_json(cell_path, cell)


def _seconds(clock):
    """Wall time of the cell's finished invocations (a killed one is lost)."""
    if not os.path.isfile(clock):
        return None
    with open(clock) as f:
        return sum(float(line) for line in f if line.strip())


def _record(workdir, fold, name, recipe, seed, command, clock):
    def load(file):
        with open(os.path.join(workdir, file)) as f:
            return json.load(f)

    history = load("history.json")
    curve = [
        {k: history[k][i] for k in history if k != "epoch"}
        for i in range(len(history["val_mean_iou"]))
    ]
    best = max(range(len(curve)), key=lambda i: curve[i]["val_mean_iou"])
    final = load("eval.json")
    return {
        "fold": fold,
        "row": name,
        "seed": seed,
        "recipe": recipe,
        "config": load("config.json"),
        "commit": harness.git_commit(),
        "command": " ".join(command[1:]),
        "miou": final["miou"],
        "per_class_iou": final["per_class_iou"],
        "class_names": final["class_names"],
        "best_epoch": best + 1,
        "best_miou": curve[best]["val_mean_iou"],
        "curve": curve,
        "seconds": _seconds(clock),
    }


def adopt_winners(campaign, sweep):
    """Applies `sweep`'s rule to the `--fold` cells; rewrites the campaign
    file after each row that changes.

    Raises:
        ValueError: the sweep states no `threshold`, or `adopt`'s errors.
    """
    if "threshold" not in campaign["sweeps"][sweep]:
        raise ValueError(f"campaign.json: sweeps.{sweep} states no rule threshold.")
    cells = load_cells(FLAGS.output_dir, FLAGS.fold)
    for row, (variant, gain) in winners(campaign, sweep, cells).items():
        print(f"{row}: {variant_name(variant)} wins ({gain:+.2f} mIoU)", flush=True)
        adopt(
            campaign,
            sweep,
            FLAGS.fold,
            row,
            variant,
            FLAGS.output_dir,
            FLAGS.cache_dir,
            ROOT,
        )
        with open(FLAGS.campaign + ".partial", "w") as f:
            json.dump(campaign, f, indent=2)
            f.write("\n")
        os.replace(FLAGS.campaign + ".partial", FLAGS.campaign)


def main(argv):
    del argv
    with open(FLAGS.campaign) as f:
        campaign = json.load(f)
    if FLAGS.adopt:
        if not FLAGS.sweep:
            raise ValueError("--adopt needs --sweep (whose rule to apply).")
        adopt_winners(campaign, FLAGS.sweep)
    elif not FLAGS.norun:
        if not FLAGS.data_dir or not os.path.isfile(
            os.path.join(FLAGS.data_dir, "train.txt")
        ):
            raise ValueError(f"--data_dir {FLAGS.data_dir}: no train.txt there.")
        if FLAGS.fold not in campaign["folds"]:
            raise ValueError(
                f"--fold {FLAGS.fold!r}: not in {list(campaign['folds'])}."
            )
        data_dir = os.path.abspath(FLAGS.data_dir)
        splits = fold_splits(
            FLAGS.fold, campaign["folds"][FLAGS.fold], data_dir, FLAGS.cache_dir
        )
        seeds = FLAGS.seeds or campaign["seeds"]
        if FLAGS.sweep:
            sweep = campaign["sweeps"][FLAGS.sweep]
            seeds = FLAGS.seeds or sweep.get("seeds", seeds)  # its stated budget
            variants = sweep["variants"]
            cells = [
                (variant_name(v), recipe_of(campaign, v["row"], v)) for v in variants
            ]
        else:
            names = FLAGS.cells or ["teacher", *campaign["rows"]]
            unknown = sorted(set(names) - {"teacher", *campaign["rows"]})
            if unknown:
                raise ValueError(f"--cells: unknown row {unknown[0]!r}.")
            if campaign["schedule"]["set"] is None and set(names) - {"teacher"}:
                raise ValueError(
                    "campaign.json: schedule.set is null; choose the schedule from "
                    "the 'schedule' sweep before running student rows."
                )
            cells = [(n, recipe_of(campaign, n)) for n in names]
        seeds = [int(s) for s in seeds]
        for name, recipe in cells:
            for seed in [0] if name == "teacher" else seeds:
                run_cell(campaign, FLAGS.fold, name, recipe, seed, splits, data_dir)
    write_tables(campaign, FLAGS.output_dir)


if __name__ == "__main__":
    app.run(main)
