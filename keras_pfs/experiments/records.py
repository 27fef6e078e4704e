"""Provenance of a result file: the command, the commit, the machine.

Every benchmark and comparison writes its figures with these, so that a
committed number says what made it and where.

Example:

    record_json("benchmarks/step.json", {"machine": machine(), "rows": rows})
"""

import os
import platform
import shlex
import subprocess
import sys
import time

from keras_pfs.atomic import write_json_atomically

# The source checkout (git metadata) this package was imported from.
_SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_LOAD_AT_START = os.getloadavg()


def machine():
    """Returns the cores, CPU model, memory, load averages (1 min, at this
    module's import and now) and the TensorFlow/Keras versions in use."""
    with open("/proc/cpuinfo") as cpuinfo:
        models = [line.split(":")[1] for line in cpuinfo if "model name" in line]
    with open("/proc/meminfo") as meminfo:
        memory_kb = int(meminfo.readline().split()[1])
    return {
        "cpu_count": os.cpu_count(),
        "processor": models[0].strip() if models else platform.machine(),
        "memory_total_gb": round(memory_kb / 1024**2, 1),
        "load_average_start": _LOAD_AT_START[0],
        "load_average_end": os.getloadavg()[0],
        **{
            name: sys.modules[name].__version__
            for name in ("tensorflow", "keras")
            if name in sys.modules
        },
    }


def describe(machine):
    """Returns a sentence on a `machine()` dict: cores, memory, load."""
    versions = f", TF {machine['tensorflow']}" if "tensorflow" in machine else ""
    return (
        f"{machine['cpu_count']} cores ({machine['processor']}), "
        f"{machine['memory_total_gb']} GB{versions}, shared; 1-min load average "
        f"{machine['load_average_start']:.1f} at the start, "
        f"{machine['load_average_end']:.1f} at the end."
    )


def command():
    """Returns this process's command line, as it could be typed again."""
    return shlex.join([os.path.basename(sys.executable), *sys.argv])


def git_commit():
    """Returns the repository's commit (`-dirty` if changed), or None."""
    done = subprocess.run(
        ["git", "describe", "--always", "--dirty", "--abbrev=40"],
        capture_output=True,
        text=True,
        cwd=_SOURCE,
        check=False,
    )
    return done.stdout.strip() or None


def record_json(path, payload):
    """Writes `payload` as JSON through a temporary file (a kill never leaves
    half a file), with `command`, `commit` and `date` unless it has them.

    Args:
        path: the file to write.
        payload: a JSON-serialisable dict.

    Returns:
        The record written.
    """
    record = {
        "command": command(),
        "commit": git_commit(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **payload,
    }
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    write_json_atomically(record, path, indent=1)
    return record
