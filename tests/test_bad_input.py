"""Bad input, round two (issue 26), through the library: each is refused
with one line naming the input, before anything that existed changes.

The command-line side (exit status 2, `error: ...`) is in test_cli.py.
"""

import os
import struct
import zlib

import numpy as np
import pytest
import tensorflow as tf

from keras_pfs import data, training
from keras_pfs.config import load_config
from tests.tiny_runs import TINY, fake_finished_run, snapshot, tmpfs


def gray_png(values, depth):
    """A grayscale PNG of `values` stored at `depth` bits (1 to 16)."""

    def chunk(kind, payload):
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    height, width = values.shape
    if depth == 16:
        rows = values.astype(">u2").reshape(height, -1).view(np.uint8)
    else:
        per_byte = 8 // depth
        padded = np.zeros((height, -(-width // per_byte) * per_byte), np.int64)
        padded[:, :width] = values
        shifts = depth * np.arange(per_byte - 1, -1, -1)
        groups = padded.reshape(height, -1, per_byte) << shifts
        rows = groups.sum(-1).astype(np.uint8)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)
    header = struct.pack(">IIBBBBB", width, height, depth, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


# Bad case 1: TF decodes a 16-bit PNG to 8 bits by dividing by 257 (all
# CamVid ids become 0) and scales 1-, 2- and 4-bit ones up.
@pytest.mark.parametrize("depth", [1, 2, 4, 8, 16])
def test_label_maps_are_read_at_their_bit_depth(tmp_path, depth):
    values = np.arange(24).reshape(4, 6) % min(2**depth, 12)  # 11: CamVid void
    path = tmp_path / "label.png"
    path.write_bytes(gray_png(values, depth))
    label = data.read_label(tf.constant(str(path)))
    np.testing.assert_array_equal(label.numpy(), values)


def test_preflight_checks_16_bit_labels_by_their_values(tmp_path):
    image = np.zeros((4, 6, 3), np.uint8)
    tf.io.write_file(str(tmp_path / "i.png"), tf.io.encode_png(image))
    (tmp_path / "l.png").write_bytes(gray_png(np.full((4, 6), 300), 16))
    with pytest.raises(ValueError, match=r"Label values 300 in .*/l\.png are outside"):
        data.check_files([str(tmp_path / "i.png")], [str(tmp_path / "l.png")], 11, 11)


# Bad case 6 and the weak config cases: a config file is Python.
@pytest.mark.parametrize(
    "name, text, message",
    [
        ("config.json", '{"epochs": 2}', r"config\.json is not a Python file"),
        ("broken.py", "CONFIG = dict(epochs=2\n", r"broken\.py, line 1: syntax"),
        (
            "raises.py",
            "import os\nCONFIG = dict(data_dir=os.environ['NO_SUCH_VAR'])\n",
            r"raises\.py, line 2 raised KeyError: 'NO_SUCH_VAR'",
        ),
    ],
)
def test_a_config_file_must_be_python_that_runs(tmp_path, name, text, message):
    (tmp_path / name).write_text(text)
    with pytest.raises(ValueError, match=message):
        load_config(str(tmp_path / name))


# Bad case 3: --overwrite would move the teacher aside and delete it.
@pytest.mark.parametrize("overwrite", [True, False])
def test_a_teacher_among_the_runs_own_files_is_refused(tmp_path, overwrite):
    workdir = str(tmp_path / "self")
    before = fake_finished_run(workdir)
    for name in ("model.keras", "best.keras"):
        teacher = os.path.join(workdir, name)
        with pytest.raises(ValueError, match=rf"Teacher model {teacher} is part of"):
            training.train(
                load_config(None, TINY),
                workdir,
                teacher_path=teacher,
                overwrite=overwrite,
            )
    assert snapshot(workdir) == before


def test_a_work_directory_that_is_a_file_is_named(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("the user's own file")
    with (
        pytest.raises(ValueError, match=rf"Work directory {path} is a file"),
        training.Workdir(str(path)).lock(),
    ):
        pass
    assert path.read_text() == "the user's own file"


def test_a_work_directory_on_a_read_only_disk_is_named(tmp_path):
    with tmpfs(tmp_path, "ro,size=1m"):
        workdir = tmp_path / "run"
        with (
            pytest.raises(
                ValueError,
                match=rf"{workdir} cannot be created: Read-only file system",
            ),
            training.Workdir(str(workdir)).lock(),
        ):
            pass


# Weak case: a command that fails after taking the lock left an empty folder.
def test_a_failed_run_leaves_no_work_directory_it_created(tmp_path):
    workdir = tmp_path / "new" / "run"
    config = load_config(None, [*TINY, "student_preset='tiny-mobile'"])
    with pytest.raises(ValueError, match="Unknown preset 'tiny-mobile'"):
        training.train(config, str(workdir))
    assert os.listdir(tmp_path) == []


# Weak case: different image sizes cannot be batched without a crop.
def test_images_of_another_size_are_named_before_training_without_a_crop(tmp_path):
    rng = np.random.default_rng(0)
    lines = []
    for i, size in enumerate([(32, 32)] * 5 + [(24, 32)] * 3):
        image = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
        label = rng.integers(0, 3, (*size, 1), dtype=np.uint8)
        tf.io.write_file(str(tmp_path / f"i{i}.png"), tf.io.encode_png(image))
        tf.io.write_file(str(tmp_path / f"l{i}.png"), tf.io.encode_png(label))
        lines.append(f"i{i}.png l{i}.png")
    (tmp_path / "train.txt").write_text("\n".join(lines) + "\n")
    (tmp_path / "val.txt").write_text("\n".join(lines[:2]) + "\n")
    overrides = [
        "dataset='list_file'",
        f"data_dir={str(tmp_path)!r}",
        "num_classes=3",
        "batch_size=4",
    ]
    with pytest.raises(
        ValueError,
        match=r"Image .*/i5\.png is 24x32, but .*/i0\.png is 32x32: .*crop_size",
    ):
        training.check_splits(load_config(None, [*overrides, "crop_size=None"]))
    cropped = load_config(None, [*overrides, "crop_size=(16, 16)"])
    assert training.check_splits(cropped) == {"train": 8, "val": 2}
