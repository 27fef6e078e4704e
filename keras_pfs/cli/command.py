"""How every keras-pfs command runs: its help, one-line errors, and signals."""

import errno
import signal
import sys

from absl import app, flags

_HELP = ("--help", "-h", "-?", "--helpshort")
# OS errors the user can act on (the disk, permissions, a path): one line.
_USER_ERRNOS = {
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EROFS,
    errno.EACCES,
    errno.EPERM,
    errno.ENOTDIR,
    errno.EISDIR,
}
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Stopped(BaseException):
    """Raised in the main thread by SIGTERM or SIGINT.

    A `BaseException`, like `KeyboardInterrupt`, so that no `except
    Exception` swallows it, and the clean-up on the way out (putting back a
    run set aside by `--overwrite`, releasing the work directory's lock)
    runs.
    """

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _stop(signum, frame):
    del frame
    # Further signals would interrupt the clean-up the first one started.
    for stop_signal in _STOP_SIGNALS:
        signal.signal(stop_signal, signal.SIG_IGN)
    raise Stopped(signum)


def _help(main_module):
    """The command's docstring and its own flags (not TF's or absl's)."""
    modules = flags.FLAGS.flags_by_module_dict()
    # absl files the flags of a `python -m` module under its path.
    main_names = (main_module.__name__, sys.argv[0])
    ours = [
        name
        for name in modules
        if name in main_names or name.startswith("keras_pfs.cli")
    ]
    text = [main_module.__doc__ or "", "flags:"]
    text += [flags.FLAGS.module_help(name) for name in sorted(ours)]
    return "\n".join(text)


def _describe(error):
    """One line for an OS error, naming its file."""
    if error.filename:
        hint = ""
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            hint = (
                "; nothing was lost: free some space and run the same command "
                "again (a training run resumes from its last backup)"
            )
        return f"{error.strerror}: {error.filename}{hint}."
    return str(error).strip().splitlines()[0]


def run(main):
    """Runs `main(argv)` as a command-line tool.

    `--help` prints the tool's docstring and flags and exits 0. A
    `ValueError` (what the library raises for bad configs, data, paths and
    models, with a message naming the key, file or shape) or an `OSError` of
    the disk or permissions (full, read-only, not allowed) prints
    `error: <message>` on stderr and exits 2, without a traceback; any other
    exception keeps its traceback. SIGTERM and SIGINT stop the command
    through `Stopped`, so that its clean-up runs, with
    `stopped by <signal>` on stderr and exit status 128 + the signal number.

    Args:
        main: the tool's `main(argv)`.

    Example:

    >>> def main(argv): ...
    >>> run(main)  # doctest: +SKIP
    """
    main_module = sys.modules[main.__module__]
    if any(arg in _HELP for arg in sys.argv[1:]):
        print(_help(main_module))
        sys.exit(0)

    def guarded(argv):
        for stop_signal in _STOP_SIGNALS:
            signal.signal(stop_signal, _stop)
        try:
            main(argv)
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            sys.exit(2)
        except OSError as error:
            if error.errno not in _USER_ERRNOS:
                raise
            print(f"error: {_describe(error)}", file=sys.stderr)
            sys.exit(2)
        except Stopped as stopped:
            print(f"stopped by {stopped}", file=sys.stderr)
            sys.exit(128 + stopped.signum)

    app.run(guarded)
