#!/usr/bin/env bash
# The main job on the built-in dataset (no downloads): trains a teacher once
# (all labels), then for every seed a baseline student and a distilled student
# that start from the same weights and see the same batches; evaluates them on
# the held-out split, prints the paired gain and writes runs/demo/summary.json.
# By default the students run the label-efficient regime: labels on 1/32 of
# their 2048 images (drawn by the seed), the baseline trained on those, the
# distilled student on all of them. --full_labels runs the fully labelled pair
# instead. --seeds=0,1,2 picks the seeds (default 0); other arguments go to
# every command (e.g. --set epochs=2).
source "$(dirname "$0")/setup_venv.sh"
run=runs/demo
config=configs/synthetic.py
bin=.venv/bin
seeds=0
# The teacher's schedule; configs/synthetic.py holds the students' (see its
# docstring and benchmarks/demo_sizing.md for how both were sized).
teacher_args=(--set epochs=5 --set learning_rate=2e-3)
# The students' label regime (benchmarks/demo.md says how it was sized).
regime=(--set labeled_fraction=0.03125)
args=()
for arg in "$@"; do
  case "$arg" in
    --seeds=*) seeds="${arg#--seeds=}" ;;
    --full_labels) regime=() ;;
    *) args+=("$arg") ;;
  esac
done
"$bin/keras-pfs-train" --config "$config" --role teacher --workdir "$run/teacher" \
  --set seed=0 "${teacher_args[@]}" "${args[@]}"
for seed in ${seeds//,/ }; do
  "$bin/keras-pfs-train" --config "$config" --role student \
    --workdir "$run/student/seed$seed" --set "seed=$seed" "${regime[@]}" "${args[@]}"
  "$bin/keras-pfs-distill" --config "$config" --teacher "$run/teacher/model.keras" \
    --workdir "$run/distilled/seed$seed" --set "seed=$seed" "${regime[@]}" "${args[@]}"
done
"$bin/python" scripts/demo_summary.py "$run" "$seeds"
