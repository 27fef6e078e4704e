"""Collects the demo's three evaluations into a table and summary.json.

Usage: python scripts/demo_summary.py RUN_DIR
"""

import json
import os
import sys

ROWS = ("teacher", "student", "distilled")


def main(run_dir):
    summary = {}
    for row in ROWS:
        with open(os.path.join(run_dir, row, "eval.json")) as f:
            result = json.load(f)
        summary[row] = {
            "miou": result["miou"],
            "per_class_iou": result["per_class_iou"],
            "model": os.path.join(run_dir, row, "model.keras"),
        }
    summary["distillation_gain"] = (
        summary["distilled"]["miou"] - summary["student"]["miou"]
    )
    with open(os.path.join(run_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    print(f"\n{'model':<12}{'mIoU':>8}")
    for row in ROWS:
        print(f"{row:<12}{100 * summary[row]['miou']:8.2f}")
    print(f"(written to {os.path.join(run_dir, 'summary.json')})")


if __name__ == "__main__":
    main(sys.argv[1])
