"""The demo's summary.json from its comparison's cells, and its table printed
(`keras_pfs.experiments.summary`: paired gains per seed, and the regime).

Usage: python scripts/demo_summary.py OUTPUT_DIR SEEDS   (SEEDS: e.g. 0,1,2)
"""

import os
import sys

from keras_pfs.experiments import summary

if __name__ == "__main__":
    output_dir, seeds = sys.argv[1], (sys.argv[2:] or ["0"])[0]
    seeds = [int(seed) for seed in seeds.split(",")]
    lines = summary.summary_lines(summary.write_paired_summary(output_dir, seeds))
    path = os.path.join(output_dir, "summary.json")
    print("\n" + "\n".join(lines))
    print(f"(written to {path}; the table: {output_dir}/README_table.md)")
