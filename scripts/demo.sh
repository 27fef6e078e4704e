#!/usr/bin/env bash
# The main job on the built-in dataset (no downloads): trains a teacher, a
# baseline student and a distilled student with the same schedule, evaluates
# all three on the held-out split and writes runs/demo/summary.json.
# Extra arguments are passed to every command (e.g. --set epochs=2).
source "$(dirname "$0")/setup_venv.sh"
run=runs/demo
config=configs/synthetic.py
bin=.venv/bin
"$bin/keras-pfs-train" --config "$config" --role teacher --workdir "$run/teacher" "$@"
"$bin/keras-pfs-train" --config "$config" --role student --workdir "$run/student" "$@"
"$bin/keras-pfs-distill" --config "$config" --teacher "$run/teacher/model.keras" \
  --workdir "$run/distilled" "$@"
"$bin/python" scripts/demo_summary.py "$run"
