"""Runs Python in a fresh process from the repository root: console
scripts, benchmark scripts, and test scripts whose JSON report is read back.

Multi-device and multi-process checks need a process of their own: logical
CPU devices must be configured before TensorFlow runs any op.
"""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python(*args, timeout=600):
    """Runs `python args` from the repository root (so it imports this
    checkout's `keras_pfs` and `tests.*`) and returns the finished process,
    its stdout and stderr as text.
    """
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
    )


def run_json_script(script, *args, timeout=300):
    """Runs `tests/<script>` as `python -m tests.<name> args` from the
    repository root (so it imports `tests.*` and this checkout's `keras_pfs`)
    and returns its last stdout line, parsed as JSON; fails the test with the
    end of stderr if the script does.
    """
    module = "tests." + script.removesuffix(".py")
    result = run_python("-m", module, *args, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
