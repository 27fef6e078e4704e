#!/usr/bin/env bash
# Checks the Distiller's GPU paths in minutes (one step on one GPU and under
# MirroredStrategy, mixed_float16, XLA, throughput at 360x480) and writes
# gpu_check.json; arguments go to scripts/gpu_check.py (--output_json=...).
# Without a GPU it runs the same checks on tiny CPU sizes.
source "$(dirname "$0")/setup_venv.sh"
.venv/bin/python scripts/gpu_check.py "$@"
