"""`keras_pfs.atomic`: a file is written whole or not at all."""

import errno
import json
import os

import pytest

from keras_pfs.atomic import (
    replace_atomically,
    write_json_atomically,
    write_text_atomically,
)


def test_failing_writer_leaves_the_old_file(tmp_path):
    path = str(tmp_path / "eval.json")
    write_json_atomically({"miou": 0.5}, path)

    def write(temporary):
        with open(temporary, "w") as f:
            f.write('{"miou": 0.')  # half written, then the writer fails
        raise RuntimeError("stopped mid-write")

    with pytest.raises(RuntimeError, match="stopped mid-write"):
        replace_atomically(path, write)
    with open(path) as f:
        assert json.load(f) == {"miou": 0.5}
    assert os.listdir(tmp_path) == ["eval.json"]  # no temporary file left


def test_an_unnamed_disk_error_names_the_file(tmp_path):
    path = str(tmp_path / "table.md")
    write_text_atomically("old\n", path)

    def write(temporary):
        with open(temporary, "w") as f:
            f.write("new")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # as at close()

    with pytest.raises(OSError) as raised:
        replace_atomically(path, write)
    assert raised.value.errno == errno.ENOSPC and raised.value.filename == path
    with open(path) as f:
        assert f.read() == "old\n"
    assert os.listdir(tmp_path) == ["table.md"]


def test_previous_keeps_the_old_file(tmp_path):
    path, previous = str(tmp_path / "run.json"), str(tmp_path / "run.old.json")
    write_json_atomically({"epochs": 1}, path)
    write_json_atomically({"epochs": 2}, path, previous=previous)
    for name, epochs in ((path, 2), (previous, 1)):
        with open(name) as f:
            assert json.load(f) == {"epochs": epochs}
