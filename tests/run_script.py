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
    """Runs `tests/<script>` with `args` and returns its last stdout line,
    parsed as JSON; fails the test with the end of stderr if the script does.
    """
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "tests", script), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
