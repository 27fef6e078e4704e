"""Strategies: choosing one, and one Distiller step under each equals 1 replica."""

import os
import subprocess
import sys

import pytest
import tensorflow as tf

from keras_pfs.distribute import get_strategy, multi_worker_compat, worker_index
from tests.run_script import run_json_script

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_none_and_auto_are_one_replica_here():
    for name in ("none", "auto"):  # no GPUs on the test machines
        strategy = get_strategy(name)
        assert strategy.num_replicas_in_sync == 1
        assert worker_index(strategy) == 0


def test_an_unknown_strategy_names_the_flag():
    with pytest.raises(ValueError, match=r"--strategy, config key strategy"):
        get_strategy("mirored")


def test_bad_tf_config_is_reported(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", "{cluster:")
    with pytest.raises(ValueError, match="TF_CONFIG is not valid JSON"):
        get_strategy("multi_worker")


def test_the_keras_patch_is_only_for_multi_worker():
    assert not multi_worker_compat.apply(tf.distribute.get_strategy())


def test_the_cli_flag_reaches_the_strategy(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "keras_pfs.cli.train",
            "--strategy=mirored",
            f"--workdir={tmp_path}",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode != 0
    assert "Strategy 'mirored' (--strategy, config key strategy)" in result.stderr


@pytest.mark.slow
def test_two_worker_processes_equal_one_replica():
    report = run_json_script("distributed_step.py", "multi_worker", timeout=180)
    assert report["replicas"] == 2
    assert report["student_change"] > 1e-3  # the step really moved the student
    assert report["student_vs_multi_worker"] < 1e-5
    assert report["teacher_change"] == 0.0
