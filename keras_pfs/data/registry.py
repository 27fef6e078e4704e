"""The data readers `ExperimentConfig.dataset` names, in one registry.

A new reader is its module (a dataset function ending in `make_pipeline` and
a `Reader` that calls it with a config's fields) plus one entry in `READERS`:
config validation, the training run, evaluation and export follow it.
"""

from keras_pfs.data.list_file import ListFileReader
from keras_pfs.data.synthetic import SyntheticReader
from keras_pfs.data.tfds_reader import TfdsReader
from keras_pfs.data.voc import VocReader

READERS = {
    "synthetic": SyntheticReader(),
    "list_file": ListFileReader(),
    "voc": VocReader(),
    "tfds": TfdsReader(),
}


def get_reader(name):
    """The `Reader` registered as `name`.

    Args:
        name: an `ExperimentConfig.dataset` value.

    Returns:
        A `keras_pfs.data.Reader`.

    Raises:
        ValueError: one line naming the config key and the known names.

    Example:

    >>> get_reader("synthetic").needs_data_dir
    False
    """
    if name not in READERS:
        raise ValueError(
            f"Config key dataset={name!r}: expected one of "
            f"{', '.join(repr(known) for known in READERS)}."
        )
    return READERS[name]
