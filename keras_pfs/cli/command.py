"""How every keras-pfs command runs: its help, and one-line errors."""

import sys

from absl import app, flags

_HELP = ("--help", "-h", "-?", "--helpshort")


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


def run(main):
    """Runs `main(argv)` as a command-line tool.

    `--help` prints the tool's docstring and flags and exits 0. A
    `ValueError` (what the library raises for bad configs, data, paths and
    models, with a message naming the key, file or shape) prints
    `error: <message>` on stderr and exits 2, without a traceback; any other
    exception keeps its traceback.

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
        try:
            main(argv)
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            sys.exit(2)

    app.run(guarded)
