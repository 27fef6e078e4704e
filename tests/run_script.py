"""Runs a test script in a fresh Python process and reads its JSON report.

Multi-device and multi-process checks need a process of their own: logical
CPU devices must be configured before TensorFlow runs any op.
"""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_json_script(script, *args, timeout=300):
    """Runs `tests/<script>` as `python -m tests.<name> args` from the
    repository root (so it imports `tests.*` and this checkout's `keras_pfs`)
    and returns its last stdout line, parsed as JSON; fails the test with the
    end of stderr if the script does.
    """
    module = "tests." + script.removesuffix(".py")
    result = subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
