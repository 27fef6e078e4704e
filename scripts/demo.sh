#!/usr/bin/env bash
# The main job on the built-in dataset (no downloads): trains a teacher once,
# then for every seed a baseline student and a distilled student that start
# from the same weights and see the same batches; evaluates them on the
# held-out split, prints the paired gain and writes runs/demo/summary.json.
# --seeds=0,1,2 picks the seeds (default 0); other arguments go to every
# command (e.g. --set epochs=2).
source "$(dirname "$0")/setup_venv.sh"
run=runs/demo
config=configs/synthetic.py
bin=.venv/bin
seeds=0
# The teacher's schedule; configs/synthetic.py holds the students' (see its
# docstring and benchmarks/demo_sizing.md for how both were sized).
teacher_args=(--set epochs=5 --set learning_rate=2e-3)
args=()
for arg in "$@"; do
  case "$arg" in
    --seeds=*) seeds="${arg#--seeds=}" ;;
    *) args+=("$arg") ;;
  esac
done
"$bin/keras-pfs-train" --config "$config" --role teacher --workdir "$run/teacher" \
  --set seed=0 "${teacher_args[@]}" "${args[@]}"
for seed in ${seeds//,/ }; do
  "$bin/keras-pfs-train" --config "$config" --role student \
    --workdir "$run/student/seed$seed" --set "seed=$seed" "${args[@]}"
  "$bin/keras-pfs-distill" --config "$config" --teacher "$run/teacher/model.keras" \
    --workdir "$run/distilled/seed$seed" --set "seed=$seed" "${args[@]}"
done
"$bin/python" scripts/demo_summary.py "$run" "$seeds"
