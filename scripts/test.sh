#!/usr/bin/env bash
# Installs the package with its test extras and runs the whole test suite.
KERAS_PFS_EXTRAS=test source "$(dirname "$0")/setup_venv.sh"
.venv/bin/ruff check keras_pfs tests scripts configs
.venv/bin/python -m pytest -q --durations=15 "$@"
