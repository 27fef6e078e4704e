"""The command-line tools (thin shells over the library).

Importing this package silences TensorFlow's C++ start-up messages (the CUDA
stub and cuInit errors on machines without a GPU, CPU feature and oneDNN
notices) unless the command line has absl's `--verbosity` (`-v`) flag.
"""

import contextlib
import os
import sys


def _asks_for_verbosity(argv):
    return any(
        arg in ("-v", "--verbosity") or arg.startswith(("-v=", "--verbosity="))
        for arg in argv[1:]
    )


@contextlib.contextmanager
def _stderr_to_devnull():
    # The CUDA stub logs while TensorFlow's libraries load, before any log
    # level applies, so only the file descriptor itself can be silenced.
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(devnull)
        os.close(saved)


if "tensorflow" not in sys.modules and not _asks_for_verbosity(sys.argv):
    # Read once, when TensorFlow's C++ runtime starts: 3 keeps fatal errors.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with _stderr_to_devnull():
        import tensorflow  # noqa: F401
