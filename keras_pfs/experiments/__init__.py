"""Paired, resumable comparisons of recipes: cells, tables, sweeps.

`load_comparison` reads a comparison file, `ComparisonRun` runs its missing
cells through `keras_pfs.training` and `write_tables` rebuilds its table
from the cell files; `keras-pfs-compare` is the same from the shell.
`summary.paired_summary` sums up a baseline / distilled pair seed by seed.

The benchmarks' shared code is here too: `benchmark` (configs, batches,
train steps, timing, child processes and memory, targets, tables),
`records` (command, commit, machine) and `gpu_check` (the GPU path checks).
"""

from keras_pfs.experiments.comparison import load_comparison
from keras_pfs.experiments.runner import ComparisonRun
from keras_pfs.experiments.statistics import paired
from keras_pfs.experiments.sweeps import adopt_winners
from keras_pfs.experiments.table import load_cells, write_tables

__all__ = [
    "ComparisonRun",
    "adopt_winners",
    "load_cells",
    "load_comparison",
    "paired",
    "write_tables",
]
