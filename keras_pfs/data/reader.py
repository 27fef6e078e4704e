"""`Reader`: how the data an `ExperimentConfig.dataset` name stands for are read."""


class Reader:
    """How a config's data are read, for the code that knows no reader by name.

    A reader module defines its dataset function (ending in
    `make_pipeline`) and a subclass of this that calls it with a config's
    fields; `keras_pfs.data.READERS` registers an instance under the
    config's `dataset` name. Config validation, the training run's
    pipelines and `check_splits`, evaluation and export's defaults read the
    attributes and methods below.

    Attributes:
        needs_data_dir: the config's `data_dir` is required.
        fixed_size: every image has the config's `image_size` (generated
            data): held-out images are batched like training ones, and an
            export takes that size by default.
        no_labeled_fraction: why a `labeled_fraction` below 1 is refused, or
            `None` where it is available.
        unlabeled_images: what the config's `unlabeled_images` is for this
            reader, e.g. `"a count of extra images, an integer >= 1"`;
            `None` where it takes none.
    """

    needs_data_dir = True
    fixed_size = False
    no_labeled_fraction = None
    unlabeled_images = None

    def dataset(self, config, split, unlabeled, labeled_fraction, **options):
        """The `(images, labels)` batches of one split.

        Args:
            config: the `ExperimentConfig`.
            split: the split's name.
            unlabeled: `read_unlabeled`'s value, for the training split of a
                config with `unlabeled_images`; `None` otherwise.
            labeled_fraction: the fraction of the split's images that keep
                their labels (1 for held-out splits).
            **options: `batch_size`, `training`, `augment`, `seed` and
                `ignore_class`, as the dataset functions take them.

        Returns:
            A `tf.data.Dataset` of `(images, labels)` batches.
        """
        raise NotImplementedError(f"{type(self).__name__} reads no dataset.")

    def accepts_unlabeled(self, value):
        """Whether `value` (not `None`) is a valid `unlabeled_images`."""
        return False

    def read_unlabeled(self, value):
        """The config's `unlabeled_images` as `dataset` takes it, read and
        checked once per run (here: the value itself)."""
        return value

    def count_unlabeled(self, unlabeled):
        """How many images `read_unlabeled`'s value holds."""
        return len(unlabeled)

    def num_images(self, config, split):
        """The images of a split when known without listing files, else
        `None`."""
        return None

    def split_files(self, config, split):
        """`(image_paths, label_paths)` of a split, each checked to exist,
        for the preflight; `None` where there are no files to list."""
        return None

    def list_file(self, data_dir, split):
        """The list file of a split (`image_path label_path` lines) under
        `data_dir`, which export's parity gate reads; `None` for readers
        whose splits are not list files."""
        return None
