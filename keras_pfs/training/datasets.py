"""The train and held-out `tf.data` pipelines an `ExperimentConfig` names."""

from keras_pfs import data


def _reader(config):
    """The config's `keras_pfs.data.Reader`, with the keys it requires."""
    reader = data.get_reader(config.dataset)
    if reader.needs_data_dir and not config.data_dir:
        raise ValueError(f"Config key data_dir is required for {config.dataset!r}.")
    return reader


def _unlabeled(reader, config):
    """The config's unlabelled images as its reader takes them, read and
    checked here (a relative list is taken from the working directory), or
    `None` without `unlabeled_images`."""
    if config.unlabeled_images is None:
        return None
    return reader.read_unlabeled(config.unlabeled_images)


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
    reader = _reader(config)
    unlabeled = _unlabeled(reader, config)
    augment = None
    if config.crop_size is not None:
        augment = data.Augmentation(
            crop_size=config.crop_size,
            scale_range=config.scale_range,
            flip=config.flip,
        )

    def read(split, training):
        # Hidden labels and unlabelled images are for training only, and
        # evaluation runs at native size: real images go one at a time.
        return reader.dataset(
            config,
            split,
            unlabeled=unlabeled if training else None,
            labeled_fraction=config.labeled_fraction if training else 1.0,
            ignore_class=config.ignore_class,
            batch_size=config.batch_size if training or reader.fixed_size else 1,
            training=training,
            augment=augment,
            seed=config.seed,
        )

    return read(config.train_split, True), read(config.val_split, False)


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
        `{split name: number of images}`, with `"unlabeled"` images when the
        training split is checked; TFDS splits are not counted.

    Raises:
        ValueError: naming the bad file, or the batch size and the number
            of images.

    Example:

    >>> check_splits(load_config("configs/camvid.py"))  # doctest: +SKIP
    {'train': 367, 'val': 101}
    """
    splits = splits or (config.train_split, config.val_split)
    reader = _reader(config)
    unlabeled = _unlabeled(reader, config)
    counts = {}
    for split in splits:
        files = reader.split_files(config, split)
        if files is None:
            count = reader.num_images(config, split)
            if count is not None:
                counts[split] = count
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
    if config.train_split in splits and unlabeled is not None:
        counts["unlabeled"] = reader.count_unlabeled(unlabeled)
    images = counts.get(config.train_split) if config.train_split in splits else None
    if images is not None and images < config.batch_size:
        raise ValueError(
            f"Split {config.train_split!r} has {images} images, fewer than one "
            f"global batch (config key batch_size={config.batch_size})."
        )
    return counts
