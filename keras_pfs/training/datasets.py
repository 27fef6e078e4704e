"""The train and held-out `tf.data` pipelines an `ExperimentConfig` names."""

import os

from keras_pfs import data


def unlabeled_paths(config):
    """The paths of the config's unlabelled list-file images (empty without
    `unlabeled_images`); a relative source is taken from the working
    directory."""
    if config.dataset != "list_file" or config.unlabeled_images is None:
        return []
    return data.read_image_list(config.unlabeled_images)


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

    def labels(training):
        # Hidden labels and unlabelled images are for training only.
        if not training:
            return {}
        return {"labeled_fraction": config.labeled_fraction}

    if config.dataset == "synthetic":
        sizes = {"train": config.num_train_images, "val": config.num_val_images}
        return lambda name, training: data.synthetic_dataset(
            name,
            num_images=sizes.get(name, config.num_val_images),
            image_size=config.image_size,
            num_classes=config.num_classes,
            num_unlabeled=(config.unlabeled_images or 0) if training else 0,
            **labels(training),
            **common(training),
        )
    if not config.data_dir and config.dataset in ("list_file", "voc"):
        raise ValueError(f"Config key data_dir is required for {config.dataset!r}.")
    if config.dataset == "list_file":
        unlabeled = unlabeled_paths(config)
        return lambda name, training: data.list_file_dataset(
            os.path.join(config.data_dir, f"{name}.txt"),
            num_classes=config.num_classes,
            unlabeled_images=unlabeled if training else (),
            **labels(training),
            **common(training),
        )
    if config.dataset == "voc":
        return lambda name, training: data.voc_dataset(
            config.data_dir, split=name, **labels(training), **common(training)
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
    """The config's `(train, val)` pipelines.

    Training batches are shuffled, augmented (when `crop_size` is set) and
    the last partial batch dropped; held-out images of real datasets come one
    at a time at native size.

    Args:
        config: an `ExperimentConfig`.

    Returns:
        `(train, val)` datasets of `(images, labels)` batches.

    Example:

    >>> config = load_config("configs/synthetic.py")
    >>> train, val = build_datasets(config)  # doctest: +SKIP
    """
    read = _split_reader(config)
    return read(config.train_split, True), read(config.val_split, False)


def _split_files(config, split):
    if config.dataset == "list_file":
        return data.read_list_file(os.path.join(config.data_dir, f"{split}.txt"))
    if config.dataset == "voc":
        return data.read_voc_split(config.data_dir, split)
    return None


def check_splits(config, splits=None):
    """Checks data splits before training or evaluation and counts images.

    Lists every file of the training and held-out splits (each must exist);
    with `config.preflight`, also decodes every image and label map and
    checks sizes and label values (see `keras_pfs.data.check_files`), so a
    bad file is named before the first step instead of mid-epoch. Then
    requires at least one global batch of training images.

    Args:
        config: an `ExperimentConfig`.
        splits: the split names to check; default the training and held-out
            splits.

    Returns:
        `{split name: number of images}`; TFDS splits are not counted.

    Raises:
        ValueError: naming the bad file, or the batch size and the number
            of images.

    Example:

    >>> check_splits(load_config("configs/camvid.py"))  # doctest: +SKIP
    {'train': 367, 'val': 101}
    """
    splits = splits or (config.train_split, config.val_split)
    counts = {}
    if config.dataset == "synthetic":
        counts = {
            config.train_split: config.num_train_images,
            config.val_split: config.num_val_images,
        }
    else:
        _split_reader(config)  # the config's own checks (e.g. data_dir)
    for split in splits:
        files = _split_files(config, split)
        if files is None:
            continue
        counts[split] = len(files[0])
        if config.preflight:
            batched = split == config.train_split and config.batch_size > 1
            data.check_files(
                *files,
                config.num_classes,
                config.ignore_class,
                same_size=batched and config.crop_size is None,
            )
    if config.train_split in splits and config.unlabeled_images is not None:
        counts["unlabeled"] = len(unlabeled_paths(config)) or config.unlabeled_images
    images = counts.get(config.train_split) if config.train_split in splits else None
    if images is not None and images < config.batch_size:
        raise ValueError(
            f"Split {config.train_split!r} has {images} images, fewer than one "
            f"global batch (config key batch_size={config.batch_size})."
        )
    return counts
