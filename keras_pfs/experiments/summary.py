"""A paired comparison's summary: baseline against distilled, seed by seed.

The baseline (`student`) and the distilled student of one seed start from
the same weights and see the same batches, so their difference is the paired
gain. The regime (the fraction of the students' training images with
labels) is read from the distilled cells' config. `scripts/demo.sh` writes
the demo's `summary.json` with it (`scripts/demo_summary.py`).

Example:

    summary = write_paired_summary("runs/demo", [0, 1, 2])
    print("\\n".join(summary_lines(summary)))
"""

import os

import numpy as np

from keras_pfs.atomic import write_json_atomically
from keras_pfs.experiments.statistics import paired
from keras_pfs.experiments.table import load_cells


def paired_summary(cells, seeds):
    """Returns the mIoU of the `student` (baseline) and `distilled` rows per
    seed, their paired gains and the regime; the teacher's mIoU if it has a
    cell.

    Args:
        cells: `{row: {seed: cell}}`, as from `load_cells`.
        seeds: the seeds to pair, a list of ints.

    Returns:
        A dict: `"teacher": {"miou", "model"}` (if trained by this
        comparison); `"student"` and `"distilled"`: `{"miou",
        "miou_seeds"}`; `"regime": {"name", "labeled_fraction"}`;
        `"paired": {"seeds", "gain", "regime"}` (and `"ci95"`, the 95%
        t-interval of the mean gain, from two seeds on); `"distillation_gain"`, the
        mean gain. mIoU as fractions.

    Example:

        summary = paired_summary(load_cells("runs/demo", "val"), [0, 1])
        summary["paired"]["gain"]  # distilled - baseline, per seed
    """
    seeds = sorted(seeds)  # the order statistics.paired gives its gains in
    summary = {}
    if "teacher" in cells:  # trained by this comparison, not reused
        teacher = cells["teacher"][0]
        summary["teacher"] = {"miou": teacher["miou"], "model": teacher.get("model")}
    for row in ("student", "distilled"):
        runs = [cells[row][s] for s in seeds]
        summary[row] = {
            "miou": float(np.mean([r["miou"] for r in runs])),
            "miou_seeds": [r["miou"] for r in runs],
        }
    # statistics.paired works in mIoU points; the summary keeps fractions.
    line = paired(
        {s: cells["distilled"][s] for s in seeds},
        {s: cells["student"][s] for s in seeds},
    )
    gain = [d / 100 for d in line["diff"]]
    fraction = cells["distilled"][seeds[0]]["config"].get("labeled_fraction", 1.0)
    summary["regime"] = {
        "name": "full labels" if fraction == 1.0 else "label-efficient",
        "labeled_fraction": fraction,
    }
    summary["paired"] = {"seeds": seeds, "gain": gain, "regime": summary["regime"]}
    if "ci95" in line:
        summary["paired"]["ci95"] = [c / 100 for c in line["ci95"]]
    summary["distillation_gain"] = line["mean"] / 100
    return summary


def write_paired_summary(output_dir, seeds, fold="val"):
    """Writes `paired_summary` of a comparison's cells to
    `<output_dir>/summary.json` (atomically) and returns it.

    Args:
        output_dir: the comparison's output folder (`cells/<fold>/...`).
        seeds: the seeds to pair, a list of ints.
        fold: the fold whose cells are read.

    Example:

        write_paired_summary("runs/demo", [0, 1, 2])["distillation_gain"]
    """
    summary = paired_summary(load_cells(output_dir, fold), seeds)
    write_json_atomically(summary, os.path.join(output_dir, "summary.json"))
    return summary


def summary_lines(summary):
    """Returns a `paired_summary` as lines of text: mIoU per row and seed
    (in points), the regime and the paired gains.

    Example:

        print("\\n".join(summary_lines(summary)))
    """
    seeds, gain = summary["paired"]["seeds"], summary["paired"]["gain"]
    interval = summary["paired"].get("ci95")
    lines = [f"{'model':<12}{'mIoU':>8}   per seed {seeds}"]
    for row in ("teacher", "student", "distilled"):
        if row in summary:
            per_seed = summary[row].get("miou_seeds", [summary[row]["miou"]])
            lines.append(
                f"{row:<12}{100 * summary[row]['miou']:8.2f}   "
                + ", ".join(f"{100 * m:.2f}" for m in per_seed)
            )
    regime = summary["regime"]
    lines.append(
        f"regime: {regime['name']}, labels on "
        f"{100 * regime['labeled_fraction']:.3g}% of the students' training images"
    )
    lines.append(
        "paired gain (distilled - baseline), mIoU points: "
        + ", ".join(f"{100 * g:+.2f}" for g in gain)
        + f"; mean {100 * summary['distillation_gain']:+.2f}"
        + (f" [{100 * interval[0]:+.2f}, {100 * interval[1]:+.2f}]" if interval else "")
    )
    return lines
