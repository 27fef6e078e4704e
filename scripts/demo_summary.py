"""The demo's summary.json, from its comparison's cells.

The baseline and the distilled student of one seed start from the same
weights and see the same batches, so their difference is the paired gain.
The regime (the fraction of the students' training images with labels) is
read from the distilled cells' config.

Usage: python scripts/demo_summary.py OUTPUT_DIR SEEDS   (SEEDS: e.g. 0,1,2)
"""

import os
import sys

import numpy as np

from keras_pfs.atomic import write_json_atomically
from keras_pfs.experiments import load_cells


def main(output_dir, seeds):
    seeds = [int(s) for s in seeds.split(",")]
    cells = load_cells(output_dir, "val")
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
    gain = [
        d - b
        for d, b in zip(
            summary["distilled"]["miou_seeds"],
            summary["student"]["miou_seeds"],
            strict=True,
        )
    ]
    fraction = cells["distilled"][seeds[0]]["config"].get("labeled_fraction", 1.0)
    summary["regime"] = {
        "name": "full labels" if fraction == 1.0 else "label-efficient",
        "labeled_fraction": fraction,
    }
    summary["paired"] = {"seeds": seeds, "gain": gain, "regime": summary["regime"]}
    summary["distillation_gain"] = float(np.mean(gain))
    path = os.path.join(output_dir, "summary.json")
    write_json_atomically(summary, path)
    print(f"\n{'model':<12}{'mIoU':>8}   per seed {seeds}")
    for row in ("teacher", "student", "distilled"):
        if row in summary:
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
    print(f"(written to {path}; the table: {output_dir}/README_table.md)")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "0")
