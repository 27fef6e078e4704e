"""A lock file that keeps two runs out of one work directory."""

import datetime
import json
import os
import socket
import sys


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


class WorkdirLock:
    """Holds `path` (a lock file) for as long as the `with` block runs.

    The file records the holder's PID, host and start time. A second run
    that finds the lock held by a live process stops at once, naming the
    holder; a lock left by a process that no longer runs (killed with
    SIGKILL, or a crashed machine) is taken over with a warning on stderr.

    Args:
        path: the lock file, e.g. `workdir/.lock`.

    Example:

    >>> with WorkdirLock("runs/demo/teacher/.lock"):  # doctest: +SKIP
    ...     train(...)
    """

    def __init__(self, path):
        self.path = path

    def _holder(self):
        try:
            with open(self.path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None  # gone meanwhile, or written only in part

    def _create(self):
        fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        with os.fdopen(fd, "w") as f:
            json.dump(
                {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "started": datetime.datetime.now().isoformat(timespec="seconds"),
                },
                f,
            )

    def __enter__(self):
        try:
            self._create()
            return self
        except FileExistsError:
            pass
        holder = self._holder() or {}
        pid = holder.get("pid")
        same_host = holder.get("host", socket.gethostname()) == socket.gethostname()
        if isinstance(pid, int) and (_alive(pid) or not same_host):
            raise ValueError(
                f"Work directory {os.path.dirname(self.path) or '.'} is in use by "
                f"PID {pid} on {holder.get('host')} (started "
                f"{holder.get('started')}); wait for it to end or stop it "
                f"(lock file {self.path})."
            )
        print(
            f"warning: taking over the stale lock {self.path} of PID {pid} "
            f"(started {holder.get('started')}), which no longer runs.",
            file=sys.stderr,
        )
        os.remove(self.path)
        # Another run taking over at the same moment makes this one fail.
        self._create()
        return self

    def __exit__(self, *exc_info):
        if (self._holder() or {}).get("pid") == os.getpid():
            os.remove(self.path)
