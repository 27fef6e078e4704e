"""A comparison's tables, built from its cell files only.

Writes `results.json` (rows, paired differences with 95% t-intervals, gap
closed, each target met or not, a block per further fold, sweeps),
`README_table.md` (to include in a README) and `curves.png` (val mIoU
against epochs), so a comparison that spans sessions is rebuilt from what
is on file.
"""

import glob
import json
import os
import warnings

import numpy as np

from keras_pfs.atomic import write_json_atomically, write_text_atomically
from keras_pfs.experiments.statistics import paired


def load_cells(output_dir, fold):
    """`{row: {seed: cell}}` of one fold."""
    rows = {}
    pattern = os.path.join(output_dir, "cells", fold, "*", "seed*.json")
    for path in sorted(glob.glob(pattern)):
        with open(path) as f:
            cell = json.load(f)
        rows.setdefault(cell["row"], {})[cell["seed"]] = cell
    return rows


def _row(cells):
    seeds = sorted(cells)
    with warnings.catch_warnings():  # a class absent from every seed: NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        per_class = np.nanmean([cells[s]["per_class_iou"] for s in seeds], axis=0)
    mious = [100 * cells[s]["miou"] for s in seeds]
    return {
        "miou": float(np.mean(mious)),
        "std": float(np.std(mious, ddof=1)) if len(mious) > 1 else None,
        "miou_seeds": mious,
        "best_miou_seeds": [100 * cells[s]["best_miou"] for s in seeds],
        "best_epoch_seeds": [cells[s]["best_epoch"] for s in seeds],
        "seeds": seeds,
        "recipe": cells[seeds[0]]["recipe"],
        "per_class_iou": per_class.tolist(),
        "models": [cells[s]["model"] for s in seeds if "model" in cells[s]],
        "hours": sum(cells[s]["seconds"] or 0 for s in seeds) / 3600,
    }


def fold_summary(campaign, cells):
    """Rows, paired differences and gap closed of one fold's cells."""
    rows = {name: _row(c) for name, c in cells.items() if "@" not in name}
    ours, base = campaign["ours"], campaign["baseline"]
    out = {"rows": rows, "paired": {}}
    pairs = [(ours, other) for other in [base, *campaign["peers"]]]
    for first, second in pairs + [tuple(p) for p in campaign.get("also_paired", [])]:
        if first in cells and second in cells:
            out["paired"][f"{first} - {second}"] = paired(cells[first], cells[second])
    # Only over the same seeds: a mean of one seed against three is no gap.
    if {ours, base, "teacher"} <= set(rows) and (
        rows[ours]["seeds"] == rows[base]["seeds"]
    ):
        gap = rows["teacher"]["miou"] - rows[base]["miou"]
        out["gap_closed"] = (rows[ours]["miou"] - rows[base]["miou"]) / gap
    full = campaign.get("full_label_row")
    if full and {ours, base, full} <= set(rows):
        line = paired(cells[full], cells[base])
        out["paired"][f"{ours} - {full}"] = paired(cells[ours], cells[full])
        if line["mean"]:
            # How much of the full-label baseline's lead the distilled
            # partly labelled student recovers, over the seeds all three share.
            recovered = paired(cells[ours], cells[base])["mean"] / line["mean"]
            out["recovered_fraction"] = recovered
    out["targets"] = targets(campaign, out["paired"])
    return out


def targets(campaign, paired_lines):
    """Each of the comparison's targets against one fold's paired lines.

    Targets (all optional, in mIoU points): `ours_minus_baseline_mean`,
    `ours_minus_baseline_every_seed` (strictly above on every seed),
    `ours_minus_peer_mean` (one threshold, or one per peer) and
    `ours_minus_full_label_mean`. `met` is None while a line lacks some of
    the comparison's seeds: a verdict on part of the seeds would be read as
    the verdict.
    """
    goal, ours, base = campaign["targets"], campaign["ours"], campaign["baseline"]
    peer_goal = goal.get("ours_minus_peer_mean", {})
    if not isinstance(peer_goal, dict):  # one threshold for every peer
        peer_goal = dict.fromkeys(campaign["peers"], peer_goal)
    checks = {
        name: (base, stat, goal[name])
        for name, stat in (
            ("ours_minus_baseline_mean", "mean"),
            ("ours_minus_baseline_every_seed", "min"),
        )
        if name in goal
    }
    checks.update(
        {f"ours_minus_{p}_mean": (p, "mean", t) for p, t in peer_goal.items()}
    )
    if "ours_minus_full_label_mean" in goal:
        checks["ours_minus_full_label_mean"] = (
            campaign["full_label_row"],
            "mean",
            goal["ours_minus_full_label_mean"],
        )
    out = {}
    for name, (other, stat, threshold) in checks.items():
        line = paired_lines.get(f"{ours} - {other}")
        if line is None:
            continue
        if stat == "mean":
            value, met = line["mean"], line["mean"] >= threshold
        else:  # "positive on every seed": strictly above
            value = min(line["diff"])
            met = value > threshold
        complete = line["seeds"] == campaign["seeds"]
        out[name] = {
            "value": value,
            "target": threshold,
            "met": met if complete else None,
        }
    return out


def _fmt(values):
    return ", ".join(f"{v:.2f}" for v in values)


def _markdown(summary, names):
    lines = [
        "| row | mIoU (final) | std | seeds | best-epoch mIoU | best epochs | hours |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in names:
        if name in summary["rows"]:
            r = summary["rows"][name]
            std = "-" if r["std"] is None else f"{r['std']:.2f}"
            lines.append(
                f"| {name} | {r['miou']:.2f} | {std} | {_fmt(r['miou_seeds'])} | "
                f"{_fmt(r['best_miou_seeds'])} | {r['best_epoch_seeds']} | "
                f"{r['hours']:.2f} |"
            )
    if summary["paired"]:
        lines += [
            "",
            "| paired difference | per seed | mean | 95% interval |",
            "|---|---|---|---|",
        ]
        for name, p in summary["paired"].items():
            ci = (
                "-"
                if "ci95" not in p
                else f"[{p['ci95'][0]:+.2f}, {p['ci95'][1]:+.2f}]"
            )
            lines.append(f"| {name} | {_fmt(p['diff'])} | {p['mean']:+.2f} | {ci} |")
    if "gap_closed" in summary:
        lines += ["", f"Gap closed: {summary['gap_closed']:.3f}"]
    if "recovered_fraction" in summary:
        lines += [
            "",
            "Recovered fraction of the full-label baseline's lead: "
            f"{summary['recovered_fraction']:.3f}",
        ]
    if summary.get("targets"):
        lines += ["", "| target | value | needs | verdict |", "|---|---|---|---|"]
        verdicts = {True: "met", False: "**not met**", None: "open: seeds missing"}
        for name, t in summary["targets"].items():
            sign = ">" if name.endswith("every_seed") else ">="
            lines.append(
                f"| {name} | {t['value']:+.2f} | {sign} {t['target']:+.1f} | "
                f"{verdicts[t['met']]} |"
            )
    return lines


def _per_class_markdown(rows, names, cells):
    """Per-class IoU (mean over seeds) of each row, one column a class."""
    names = [n for n in names if n in rows]
    if not names:
        return []
    first = next(iter(cells[names[0]].values()))
    classes = first.get("class_names") or [
        str(i) for i in range(len(rows[names[0]]["per_class_iou"]))
    ]
    lines = [
        "Per-class IoU (%), mean over the seeds:",
        "",
        "| row | " + " | ".join(classes) + " |",
        "|---|" + "---|" * len(classes),
    ]
    for name in names:
        values = [f"{100 * v:.1f}" for v in rows[name]["per_class_iou"]]
        lines.append(f"| {name} | " + " | ".join(values) + " |")
    return [*lines, ""]


def _curves_png(folds, rows, path, size=(640, 360), pad=40):
    """val mIoU against epoch: one line per cell of the teacher, the
    baseline and ours (`rows`, in that order)."""
    # Pillow comes with TensorFlow (through TensorBoard); only this needs it.
    from PIL import Image, ImageDraw

    colours = dict(zip(rows, [(0, 0, 0), (200, 60, 40), (40, 90, 200)], strict=True))
    lines = [
        (colours[c["row"]], [p["val_mean_iou"] for p in c["curve"]])
        for cells in folds.values()
        for name, seeds in cells.items()
        if name in colours
        for c in seeds.values()
    ]
    if not lines:
        return
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    epochs = max(len(v) for _, v in lines)
    width, height = size[0] - 2 * pad, size[1] - 2 * pad
    draw.rectangle([pad, pad, pad + width, pad + height], outline=(128, 128, 128))
    for tick in range(0, 101, 10):
        y = pad + height * (1 - tick / 100)
        draw.text((4, y - 6), f"{tick}", fill=(0, 0, 0))
    draw.text(
        (pad, 8),
        "val mIoU (%) vs epoch; black teacher, red baseline, "
        f"blue ours; {epochs} epochs max",
        fill=(0, 0, 0),
    )
    for colour, values in lines:
        points = [
            (pad + width * i / max(epochs - 1, 1), pad + height * (1 - v))
            for i, v in enumerate(values)
        ]
        draw.line(points, fill=colour, width=2)
    image.save(path)


def write_tables(campaign, output_dir):
    """Rebuilds results.json, README_table.md and curves.png from the cells."""
    folds = {fold: load_cells(output_dir, fold) for fold in campaign["folds"]}
    names = ["teacher", *campaign["rows"]]
    results = {}
    lines = [
        f"# {campaign.get('name', 'Comparison')} table (generated from cells/)",
        "",
    ]
    for fold, cells in folds.items():
        summary = fold_summary(campaign, cells)
        sweeps, minus_row = {}, {}
        for name, variant in sorted(cells.items()):
            if "@" not in name:
                continue
            row = name.split("@")[0]
            sweeps[name] = _row(variant)
            if row in cells:  # the same seeds with the row's own setting
                sweeps[name]["minus_row"] = paired(variant, cells[row])
                minus_row[f"{name} - {row}"] = sweeps[name]["minus_row"]
        block = {
            **summary["rows"],
            "paired": summary["paired"],
            "targets": summary["targets"],
            "sweeps": sweeps,
        }
        for key in ("gap_closed", "recovered_fraction"):
            if key in summary:
                block[key] = summary[key]
        if fold == "val":
            results.update(block)
        else:
            results[fold] = block
        lines += [f"## Fold `{fold}`", "", *_markdown(summary, names), ""]
        lines += _per_class_markdown(summary["rows"], names, cells)
        if sweeps:
            lines += [
                "### Sweeps",
                "",
                *_markdown({"rows": sweeps, "paired": minus_row}, sorted(sweeps)),
                "",
            ]
    if "labeled_fraction" in campaign:
        results["labeled_fraction"] = campaign["labeled_fraction"]
    os.makedirs(output_dir, exist_ok=True)
    write_json_atomically(results, os.path.join(output_dir, "results.json"), indent=1)
    write_text_atomically(
        "\n".join(lines) + "\n", os.path.join(output_dir, "README_table.md")
    )
    _curves_png(
        folds,
        ["teacher", campaign["baseline"], campaign["ours"]],
        os.path.join(output_dir, "curves.png"),
    )
    print("\n".join(lines))
