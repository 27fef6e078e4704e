r"""keras-pfs-compare: paired, resumable comparisons of recipes on your data.

A comparison file (JSON; see `keras_pfs.experiments.comparison`) names an
experiment config, the rows (recipes as overrides of it), the seeds and the
folds. Every (fold, row, seed) is a cell: one seed is the same initial
student and the same batches in every row, so rows are compared seed by
seed. Cells on file are skipped and a cut-off cell resumes from its last
epoch, so run the same command again after an interruption. The table
(mean, spread, paired differences with 95% intervals, targets, learning
curves) is rebuilt from the cell files alone.

Example:
    keras-pfs-compare --comparison compare.json --output_dir runs/compare \
        --set data_dir=data/my_frames --seeds 0,1,2
    keras-pfs-compare --comparison compare.json --output_dir runs/compare \
        --table_only
"""

from absl import flags

from keras_pfs import experiments
from keras_pfs.cli import command

flags.DEFINE_string("comparison", None, "Comparison file (JSON).")
flags.DEFINE_string("output_dir", None, "Where cells, models and tables go.")
flags.DEFINE_string(
    "work_dir",
    None,
    "Where the cells' work directories go (default <output_dir>/work); keep "
    "it outside a repository that commits the cells.",
)
flags.DEFINE_multi_string(
    "set", [], "Config override key=value for every cell; repeatable."
)
flags.DEFINE_list("folds", None, "Folds to run (default: all).")
flags.DEFINE_list("rows", None, "Rows to run (default: all; 'teacher' too).")
flags.DEFINE_string("sweep", None, "Run this sweep's variants instead of rows.")
flags.DEFINE_list("seeds", None, "Seeds (default: the sweep's, else the file's).")
flags.DEFINE_bool("table_only", False, "Only rebuild the tables from the cells.")
flags.DEFINE_bool(
    "adopt",
    False,
    "Apply --sweep's rule to its cells of the first of --folds: each row's "
    "winning variant becomes the row's recipe (comparison file rewritten, "
    "cells moved), then stop.",
)
FLAGS = flags.FLAGS


def main(argv):
    del argv
    for name in ("comparison", "output_dir"):
        if not FLAGS[name].value:
            raise ValueError(f"--{name} is required.")
    comparison = experiments.load_comparison(FLAGS.comparison)
    if FLAGS.adopt:
        if not FLAGS.sweep:
            raise ValueError("--adopt needs --sweep (whose rule to apply).")
        experiments.adopt_winners(
            FLAGS.comparison,
            FLAGS.sweep,
            (FLAGS.folds or list(comparison["folds"]))[0],
            FLAGS.output_dir,
            FLAGS.work_dir,
        )
    elif FLAGS.table_only:
        experiments.write_tables(comparison, FLAGS.output_dir)
    else:
        run = experiments.ComparisonRun(
            comparison, FLAGS.output_dir, FLAGS.work_dir, FLAGS.set
        )
        run.run(
            folds=FLAGS.folds,
            rows=FLAGS.rows,
            sweep=FLAGS.sweep,
            seeds=[int(s) for s in FLAGS.seeds] if FLAGS.seeds else None,
        )


def run():
    command.run(main)


if __name__ == "__main__":
    run()
