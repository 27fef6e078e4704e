"""`RunDirectory`: a run's files, read and written by name."""

import json
import os

import pytest

from keras_pfs.run_directory import RunDirectory
from keras_pfs.training import Workdir


def test_written_files_read_back(tmp_path):
    run = RunDirectory(str(tmp_path))
    payloads = {
        RunDirectory.CONFIG: {"epochs": 2, "crop_size": [180, 240]},
        RunDirectory.HISTORY: {"loss": [1.5, 0.5]},
        RunDirectory.EVAL: {"miou": 0.5, "per_class_iou": [0.25, 0.75]},
        RunDirectory.RUN: {"role": "student", "config": {"epochs": 2}},
    }
    for name, payload in payloads.items():
        run.write(name, payload)
    assert run.read_config() == payloads[RunDirectory.CONFIG]
    assert run.read_history() == payloads[RunDirectory.HISTORY]
    assert run.read_eval() == payloads[RunDirectory.EVAL]
    assert run.read_run() == payloads[RunDirectory.RUN]
    # Plain JSON files on disk, under the names other tools read.
    with open(tmp_path / "eval.json") as f:
        assert json.load(f) == payloads[RunDirectory.EVAL]
    assert sorted(os.listdir(tmp_path)) == sorted(payloads)


def test_missing_file_is_named(tmp_path):
    run = RunDirectory(str(tmp_path))
    assert not run.has(run.EVAL)
    with pytest.raises(ValueError, match=r"eval\.json does not exist.*finished run"):
        run.read_eval()


def test_file_that_is_not_json_is_named(tmp_path):
    (tmp_path / "config.json").write_text('{"epochs": 2')
    with pytest.raises(ValueError, match=r"config\.json: not JSON"):
        RunDirectory(str(tmp_path)).read_config()


def test_a_run_is_finished_once_it_has_its_model(tmp_path):
    run = RunDirectory(str(tmp_path))
    run.write(run.EVAL, {"miou": 0.5})
    (tmp_path / "best.keras").write_text("best so far")
    assert not run.is_finished()
    (tmp_path / "model.keras").write_text("final")
    assert run.is_finished()
    assert run.model_file == str(tmp_path / "model.keras")
    assert run.best_file == str(tmp_path / "best.keras")
    assert run.logs_dir == str(tmp_path / "logs")


def test_a_path_is_required():
    with pytest.raises(ValueError, match="A work directory is required"):
        RunDirectory("")


def test_workdir_is_a_run_directory(tmp_path):
    workdir = Workdir(str(tmp_path), worker=1)
    assert isinstance(workdir, RunDirectory)
    assert workdir.backup_dir() == str(tmp_path / "backup" / "worker_1")
    workdir.record_finish({"role": "teacher", "config": {"epochs": 3}})
    assert workdir.read_run() == {"role": "teacher", "config": {"epochs": 3}}


def test_workdir_names_a_corrupt_run_record(tmp_path):
    workdir = Workdir(str(tmp_path))
    os.makedirs(tmp_path / "backup")
    (tmp_path / "backup" / "run.json").write_text("{")
    with pytest.raises(ValueError, match=r"backup/run\.json: not JSON"):
        workdir.check_start({"config": {"epochs": 1}}, overwrite=False)
