"""What the command-line tools share: flags, data and model set-up, saving."""

import dataclasses
import os
import shutil

import keras
from absl import flags

from keras_pfs import data
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
flags.DEFINE_string(
    "strategy",
    None,
    "tf.distribute strategy: auto, mirrored, multi_worker, tpu or none; "
    "overrides config key strategy.",
)

FLAGS = flags.FLAGS
MODEL_FILE = "model.keras"
BEST_FILE = "best.keras"
EPOCH_LOG = "epochs.jsonl"
BACKUP_DIR = "backup"
# What a run writes while training; --overwrite removes it all.
_RUN_STATE = (BACKUP_DIR, "logs", EPOCH_LOG, BEST_FILE, BEST_FILE + ".json")


def config_from_flags():
    config = load_config(FLAGS.config, FLAGS.set)
    if FLAGS.strategy is not None:
        config = dataclasses.replace(config, strategy=FLAGS.strategy)
    return config


def backup_dir(workdir, worker):
    """Where worker `worker` keeps the run's BackupAndRestore state: one
    directory per worker, because workers sharing one collide on its files."""
    return os.path.join(workdir, BACKUP_DIR, f"worker_{worker}")


def prepare_workdir(workdir):
    """Creates `workdir`; refuses to touch a finished run unless told to.

    An unfinished run (killed before it wrote `model.keras`) is resumed from
    its backup by the training commands; with `--overwrite` it starts again
    from scratch.
    """
    if not workdir:
        raise ValueError("--workdir is required.")
    finished = os.path.join(workdir, MODEL_FILE)
    if os.path.exists(finished) and not FLAGS.overwrite:
        raise ValueError(
            f"{finished} exists (a finished run); pass --overwrite to replace it."
        )
    if FLAGS.overwrite:
        for name in _RUN_STATE:
            path = os.path.join(workdir, name)
            if os.path.isdir(path):
                shutil.rmtree(path)
            elif os.path.exists(path):
                os.remove(path)
    elif os.path.isdir(os.path.join(workdir, BACKUP_DIR)):
        print(f"Resuming the unfinished run in {workdir} from its last backup.")
    os.makedirs(workdir, exist_ok=True)
    return workdir


def _split_reader(config):
    """`read(split_name, training) -> tf.data.Dataset` for the config."""
    augment = None
    if config.crop_size is not None:
        augment = data.Augmentation(
            crop_size=config.crop_size,
            scale_range=config.scale_range,
            flip=config.flip,
        )

    def common(training):
        # Evaluation runs at native size, so real images go one at a time.
        batch = config.batch_size if training or config.dataset == "synthetic" else 1
        return {
            "ignore_class": config.ignore_class,
            "batch_size": batch,
            "training": training,
            "augment": augment,
            "seed": config.seed,
        }

    if config.dataset == "synthetic":
        sizes = {"train": config.num_train_images, "val": config.num_val_images}
        return lambda name, training: data.synthetic_dataset(
            name,
            num_images=sizes.get(name, config.num_val_images),
            image_size=config.image_size,
            num_classes=config.num_classes,
            **common(training),
        )
    if not config.data_dir and config.dataset in ("list_file", "voc"):
        raise ValueError(f"Config key data_dir is required for {config.dataset!r}.")
    if config.dataset == "list_file":
        return lambda name, training: data.list_file_dataset(
            os.path.join(config.data_dir, f"{name}.txt"),
            num_classes=config.num_classes,
            **common(training),
        )
    if config.dataset == "voc":
        return lambda name, training: data.voc_dataset(
            config.data_dir, split=name, **common(training)
        )
    if config.dataset == "tfds":
        return lambda name, training: data.tfds_dataset(
            config.tfds_name,
            split=name,
            data_dir=config.data_dir,
            manual_dir=config.manual_dir,
            **common(training),
        )
    raise ValueError(
        f"Config key dataset={config.dataset!r} is unknown; use 'synthetic', "
        "'list_file', 'voc' or 'tfds'."
    )


def build_datasets(config):
    """`(train, val)` tf.data pipelines for the config's dataset."""
    read = _split_reader(config)
    return read(config.train_split, True), read(config.val_split, False)


def make_optimizer(config, steps_per_epoch):
    schedule = keras.optimizers.schedules.CosineDecay(
        config.learning_rate, decay_steps=max(1, config.epochs * steps_per_epoch)
    )
    return keras.optimizers.AdamW(schedule, weight_decay=config.weight_decay)


def load_model(path):
    if not os.path.isfile(path):
        raise ValueError(f"Model file {path} does not exist.")
    return keras.saving.load_model(path)
