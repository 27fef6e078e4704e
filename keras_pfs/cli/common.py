"""What the command-line tools share: flags and the config they give."""

import dataclasses

from absl import flags

from keras_pfs.config import load_config

flags.DEFINE_string("config", None, "Experiment config file (configs/*.py).")
flags.DEFINE_multi_string("set", [], "Config override key=value; repeatable.")
flags.DEFINE_string("workdir", None, "Directory for models, logs and results.")
flags.DEFINE_bool(
    "overwrite",
    False,
    "Replace a finished run in --workdir, or restart an unfinished one from "
    "scratch instead of resuming it from its backup.",
)
flags.DEFINE_bool(
    "extend",
    False,
    "Continue the finished or unfinished run in --workdir to more epochs "
    "(--set epochs=N); nothing else may change. A finished run restarts its "
    "learning-rate schedule over the added epochs, an unfinished one "
    "stretches it to N.",
)
flags.DEFINE_string(
    "strategy",
    None,
    "tf.distribute strategy: auto, mirrored, multi_worker, tpu or none; "
    "overrides config key strategy.",
)

FLAGS = flags.FLAGS


def config_from_flags():
    config = load_config(FLAGS.config, FLAGS.set)
    if FLAGS.strategy is not None:
        config = dataclasses.replace(config, strategy=FLAGS.strategy)
    return config
