"""The flags every benchmark script takes; the rest of the harness is
`keras_pfs.experiments.benchmark` (configs, timing, targets, tables) and
`keras_pfs.experiments.records` (command, commit, machine, result files)."""

import os

from absl import flags

from keras_pfs.experiments.benchmark import load_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def define_flags(name):
    """Defines the flags every benchmark script takes: `--config` (default
    `benchmarks/configs/<name>.json`), `--set` and `--smoke`."""
    default = os.path.join(ROOT, "benchmarks", "configs", f"{name}.json")
    flags.DEFINE_string("config", default, "Benchmark config file.")
    flags.DEFINE_multi_string("set", [], "Config override key=value, e.g. grids=[65].")
    flags.DEFINE_bool("smoke", False, "Use the config's tiny sizes (tests).")


def config_from_flags():
    """Returns `load_config` of `--config`, `--set` and `--smoke`."""
    return load_config(flags.FLAGS.config, flags.FLAGS.set, flags.FLAGS.smoke)
