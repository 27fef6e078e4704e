"""The command-line tools start without TensorFlow's C++ start-up messages."""

import os
import subprocess
import sys

import pytest

# Starts TensorFlow's runtime (device discovery: cuInit) as a command would.
_COMMAND = """
import sys

import pytest
sys.argv = ["keras-pfs-train", *sys.argv[1:]]
import keras_pfs.cli.train
import tensorflow as tf
print(float(tf.constant(1.0) + 1))
"""


def _start(*flags):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run(
        [sys.executable, "-c", _COMMAND, *flags],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert result.stdout.strip() == "2.0"
    return result.stderr


@pytest.mark.slow
def test_cli_starts_quietly_and_verbosity_brings_the_messages_back():
    quiet = _start()
    for noise in ("cuInit", "cuda", "oneDNN", "cpu_feature_guard", "absl::"):
        assert noise not in quiet, quiet
    verbose = _start("--verbosity=0")
    assert "cpu_feature_guard" in verbose or "cuda" in verbose, verbose
