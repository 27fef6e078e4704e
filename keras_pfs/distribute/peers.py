"""Waiting for the other workers of a multi-worker cluster, a bounded time.

`MultiWorkerMirroredStrategy()` blocks in TensorFlow's C++ runtime until
every task of `TF_CONFIG` has joined: with a worker that never starts it
waits on, prints nothing, and neither SIGINT (Python's handler cannot run)
nor SIGTERM (TF's coordination agent takes it over to note a preemption,
and otherwise ignores it) ends it. So each worker first waits in
Python, where signals work, until every other task's port accepts a
connection, listening on its own port meanwhile so that the others see it.
"""

import json
import os
import socket
import sys
import time

# The tasks MultiWorkerMirroredStrategy waits for.
_JOBS = ("chief", "worker")
_POLL_SECONDS = 0.2


def _split(address):
    host, _, port = address.rpartition(":")
    return host, int(port)


def _accepts(address):
    try:
        with socket.create_connection(_split(address), timeout=1.0):
            return True
    except OSError:
        return False


def _listen(address, name):
    """A socket listening on this task's port, on every interface as TF's."""
    port = _split(address)[1]
    try:
        if socket.has_dualstack_ipv6():
            return socket.create_server(
                ("", port), family=socket.AF_INET6, dualstack_ipv6=True
            )
        return socket.create_server(("", port))
    except OSError as error:
        raise ValueError(
            f"{name} cannot listen on {address} (TF_CONFIG): {error.strerror}."
        ) from None


def wait_for_peers(timeout):
    """Waits until every other chief or worker task of `TF_CONFIG` listens.

    Call it on every task before creating the strategy; it returns at once
    without `TF_CONFIG` or with a single task.

    Args:
        timeout: seconds to wait, in all.

    Raises:
        ValueError: a task did not start within `timeout`, naming it and
            its address, or this task's port is taken.

    Example:

    >>> wait_for_peers(600)  # doctest: +SKIP
    """
    config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    cluster, task = config.get("cluster", {}), config.get("task", {})
    me = (task.get("type"), task.get("index", 0))
    tasks = {
        (job, index): address
        for job in _JOBS
        for index, address in enumerate(cluster.get(job, []))
    }
    if me not in tasks or len(tasks) < 2:
        return
    pending = {key: address for key, address in tasks.items() if key != me}
    listener = _listen(tasks[me], f"{me[0]} {me[1]}")
    try:
        deadline = time.monotonic() + timeout
        announced = False
        while True:
            pending = {k: a for k, a in pending.items() if not _accepts(a)}
            if not pending:
                return
            names = ", ".join(f"{job} {i} ({a})" for (job, i), a in pending.items())
            if time.monotonic() > deadline:
                raise ValueError(
                    f"{names} of TF_CONFIG did not start within {timeout:g} s "
                    "(config key peer_wait_seconds): start the same command "
                    "there, with its own task index in TF_CONFIG."
                )
            if not announced:
                print(f"Waiting up to {timeout:g} s for {names}.", file=sys.stderr)
                announced = True
            time.sleep(_POLL_SECONDS)
    finally:
        listener.close()
