#!/usr/bin/env bash
# Installs the package with its test extras and runs the whole test suite.
KERAS_PFS_EXTRAS=test source "$(dirname "$0")/setup_venv.sh"
.venv/bin/ruff check keras_pfs tests scripts configs
# Two workers: most of the suite runs on one core at a time (tracing,
# subprocess start-up), so the second core halves the wall time; slow tests
# are collected first (tests/conftest.py) and idle workers steal the rest.
.venv/bin/python -m pytest -q -n 2 --dist worksteal --durations=15 "$@"
