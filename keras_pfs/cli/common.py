"""What the command-line tools share: flags, data and model set-up, saving."""

import json
import os

import keras
from absl import flags

from keras_pfs import data
from keras_pfs.config import load_config

flags.DEFINE_string("config", None, "Experiment config file (configs/*.py).")
flags.DEFINE_multi_string("set", [], "Config override key=value; repeatable.")
flags.DEFINE_string("workdir", None, "Directory for models, logs and results.")
flags.DEFINE_bool("overwrite", False, "Replace a finished run in --workdir.")

FLAGS = flags.FLAGS
MODEL_FILE = "model.keras"


def config_from_flags():
    return load_config(FLAGS.config, FLAGS.set)


def prepare_workdir(workdir):
    """Creates `workdir`; refuses to touch a finished run unless told to."""
    if not workdir:
        raise ValueError("--workdir is required.")
    finished = os.path.join(workdir, MODEL_FILE)
    if os.path.exists(finished) and not FLAGS.overwrite:
        raise ValueError(
            f"{finished} exists (a finished run); pass --overwrite to replace it."
        )
    os.makedirs(workdir, exist_ok=True)
    return workdir


def save_model_atomically(model, path):
    """Saves to a temporary file and renames, so a kill never leaves half a
    model where a good one was."""
    temporary = path[: -len(".keras")] + ".partial.keras"
    model.save(temporary)
    os.replace(temporary, path)


def write_json_atomically(payload, path):
    temporary = path + ".partial"
    with open(temporary, "w") as f:
        json.dump(payload, f, indent=2)
    os.replace(temporary, path)


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
