"""The installed environment: one TensorFlow distribution, consistent deps."""

import importlib.metadata
import subprocess
import sys

# Distributions that all install the same top-level `tensorflow` package;
# two of them in one environment overwrite each other's files.
_TENSORFLOW_DISTRIBUTIONS = {
    "tensorflow",
    "tensorflow-cpu",
    "tensorflow-gpu",
    "tensorflow-intel",
    "tensorflow-macos",
    "tf-nightly",
    "tf-nightly-cpu",
}


def _canonical(name):
    return name.lower().replace("_", "-").replace(".", "-")


def test_exactly_one_tensorflow_distribution():
    installed = sorted(
        {_canonical(d.metadata["Name"]) for d in importlib.metadata.distributions()}
        & _TENSORFLOW_DISTRIBUTIONS
    )
    assert len(installed) == 1, f"TensorFlow distributions installed: {installed}"


def test_pip_check_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "pip", "check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
