"""Collects the demo's evaluations into a table and summary.json.

The baseline and the distilled student of one seed start from the same
weights and see the same batches, so their difference is the paired gain.
The regime (the fraction of the students' training images with labels) is
read from the distilled runs' `config.json`.

Usage: python scripts/demo_summary.py RUN_DIR SEEDS   (SEEDS: e.g. 0,1,2)
"""

import json
import os
import sys

import numpy as np


def _eval(path):
    with open(os.path.join(path, "eval.json")) as f:
        result = json.load(f)
    return {
        "miou": result["miou"],
        "per_class_iou": result["per_class_iou"],
        "model": os.path.join(path, "model.keras"),
    }


def main(run_dir, seeds):
    seeds = [int(s) for s in seeds.split(",")]
    summary = {"teacher": _eval(os.path.join(run_dir, "teacher"))}
    for row in ("student", "distilled"):
        runs = [_eval(os.path.join(run_dir, row, f"seed{s}")) for s in seeds]
        summary[row] = {
            "miou": float(np.mean([r["miou"] for r in runs])),
            "miou_seeds": [r["miou"] for r in runs],
            "models": [r["model"] for r in runs],
        }
    gain = [
        d - b
        for d, b in zip(
            summary["distilled"]["miou_seeds"],
            summary["student"]["miou_seeds"],
            strict=True,
        )
    ]
    with open(
        os.path.join(run_dir, "distilled", f"seed{seeds[0]}", "config.json")
    ) as f:
        fraction = json.load(f).get("labeled_fraction", 1.0)
    summary["regime"] = {
        "name": "full labels" if fraction == 1.0 else "label-efficient",
        "labeled_fraction": fraction,
    }
    summary["paired"] = {"seeds": seeds, "gain": gain, "regime": summary["regime"]}
    summary["distillation_gain"] = float(np.mean(gain))
    with open(os.path.join(run_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    print(f"\n{'model':<12}{'mIoU':>8}   per seed {seeds}")
    for row in ("teacher", "student", "distilled"):
        per_seed = summary[row].get("miou_seeds", [summary[row]["miou"]])
        print(
            f"{row:<12}{100 * summary[row]['miou']:8.2f}   "
            + ", ".join(f"{100 * m:.2f}" for m in per_seed)
        )
    print(
        f"regime: {summary['regime']['name']}, labels on "
        f"{100 * fraction:.3g}% of the students' training images"
    )
    print(
        "paired gain (distilled - baseline), mIoU points: "
        + ", ".join(f"{100 * g:+.2f}" for g in gain)
        + f"; mean {100 * np.mean(gain):+.2f}"
    )
    print(f"(written to {os.path.join(run_dir, 'summary.json')})")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "0")
