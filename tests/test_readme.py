"""Every Python block of README.md runs as written, on tiny sizes.

A block may be preceded by `<!-- readme-test: {...} -->`, a JSON object of
text replacements applied before it runs: tiny sizes and epochs, and
keras-hub downloads replaced by the builders of `tests/tiny_keras_hub.py`,
which every block can call. Each replacement must occur in its block, so
a README edit cannot leave a block untested. Each block runs in an empty
folder (with `configs/` linked, as from the repository root) and a
namespace of its own; `CHECKS` adds what a block must have done.
"""

import json
import logging
import math
import os
import re

import pytest

from tests.run_script import ROOT
from tests.tiny_keras_hub import tiny_deeplab, tiny_segformer

_BLOCK = re.compile(r"(?:<!-- readme-test: (\{.*?\}) -->\n)?```python\n(.*?)```", re.S)


def _heading(text):
    """The last markdown heading of `text`, code blocks left out."""
    heading, in_code = None, False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif line.startswith("#") and not in_code:
            heading = line.lstrip("#").strip()
    return heading


def readme_blocks():
    """`{id: (code, replacements)}`, ids `<section>-<n>` (the n-th block of
    the section, from 1)."""
    with open(os.path.join(ROOT, "README.md")) as f:
        text = f.read()
    blocks = {}
    for match in _BLOCK.finditer(text):
        section = re.sub(r"[^a-z0-9]+", "-", _heading(text[: match.start()]).lower())
        section = section.strip("-")
        number = sum(key.rsplit("-", 1)[0] == section for key in blocks) + 1
        replacements = json.loads(match.group(1) or "{}")
        blocks[f"{section}-{number}"] = (match.group(2), replacements)
    return blocks


def prepared(code, replacements):
    for old, new in replacements.items():
        assert old in code, f"readme-test replacement {old!r} is not in its block"
        code = code.replace(old, new)
    return code


def _history(namespace, name="distiller"):
    return namespace[name].history.history


def _check_python_use(namespace, log):
    history = _history(namespace)
    for name in ("ce", "pfs", "imitation", "loss", "mean_iou", "val_mean_iou"):
        assert all(math.isfinite(v) for v in history[name]), name
    assert os.path.isfile("student.keras")


def _check_run(namespace, log):
    assert 0.0 <= namespace["results"]["miou"] <= 1.0
    assert os.path.isfile("runs/py/distilled/best.keras")


def _check_checkpoints(namespace, log):
    for name in ("student_01.keras", "student_02.keras", "best.keras"):
        assert os.path.isfile(os.path.join("checkpoints", name)), name
    assert os.listdir("checkpoints/logs/validation")
    assert os.path.isfile("student_savedmodel/saved_model.pb")


def _check_keras_hub(namespace, log):
    from ai_edge_litert.interpreter import Interpreter

    for preset in ("deeplab_teacher", "segformer_student"):
        assert os.path.isfile(f"presets/{preset}/config.json"), preset
    assert "the stride-8 feature map" in log
    assert {"pfs", "imitation", "ce"} <= set(_history(namespace))
    interpreter = Interpreter(model_path="student.tflite")
    interpreter.allocate_tensors()
    assert tuple(interpreter.get_input_details()[0]["shape"]) == (1, 32, 32, 3)


def _check_keras_distillation(namespace, log):
    history = _history(namespace)
    assert history["distillation_loss"][0] > 0
    assert all(math.isfinite(v) for v in history["total_loss"])


CHECKS = {
    "using-it-from-python-1": _check_python_use,
    "using-it-from-python-2": _check_run,
    "saving-loading-and-checkpoints-1": _check_checkpoints,
    "keras-hub-segmenters-1": _check_keras_hub,
    "coming-from-keras-distillation-1": _check_keras_distillation,
}
BLOCKS = readme_blocks()
# Blocks of more than ~20 s on 2 shared CPU cores.
_SLOW = {"using-it-from-python-2", "keras-hub-segmenters-1"}


def test_every_checked_block_is_in_the_readme():
    assert set(CHECKS) <= set(BLOCKS), sorted(BLOCKS)


@pytest.mark.parametrize(
    "block",
    [pytest.param(b, marks=pytest.mark.slow) if b in _SLOW else b for b in BLOCKS],
)
def test_readme_block_runs(block, tmp_path, monkeypatch, caplog):
    code, replacements = BLOCKS[block]
    monkeypatch.chdir(tmp_path)
    os.symlink(os.path.join(ROOT, "configs"), "configs")
    namespace = {"tiny_deeplab": tiny_deeplab, "tiny_segformer": tiny_segformer}
    with caplog.at_level(logging.INFO, logger="keras_pfs"):
        exec(compile(prepared(code, replacements), "README.md", "exec"), namespace)
    if block in CHECKS:
        CHECKS[block](namespace, caplog.text)
