#!/usr/bin/env bash
# The main job on the built-in dataset (no downloads), as a comparison
# (configs/demo_comparison.json run by keras-pfs-compare): trains a teacher
# once (all labels), then for every seed a baseline student and a distilled
# student that start from the same weights and see the same batches;
# evaluates them on the held-out split, prints the paired gain and writes
# runs/demo/summary.json; then exports the first seed's distilled student
# (SavedModel and LiteRT, behind the parity gate). By default the students have labels on 1/32 of
# their 2048 images (drawn by the seed), the baseline trained on those, the
# distilled student on all of them; --full_labels runs the fully labelled
# pair instead (in runs/demo_full_labels, the same teacher). --seeds=0,1,2
# picks the seeds (default 0); other arguments go to keras-pfs-compare
# (e.g. --set epochs=2). Run it again after an interruption: it resumes.
source "$(dirname "$0")/setup_venv.sh"
run=runs/demo
seeds=0
args=()
for arg in "$@"; do
  case "$arg" in
    --seeds=*) seeds="${arg#--seeds=}" ;;
    --full_labels) run=runs/demo_full_labels; args+=(--set labeled_fraction=1.0) ;;
    *) args+=("$arg") ;;
  esac
done
.venv/bin/keras-pfs-compare --comparison configs/demo_comparison.json \
  --output_dir "$run" --seeds "$seeds" "${args[@]}"
.venv/bin/python scripts/demo_summary.py "$run" "$seeds"
# The first seed's distilled student for TF Serving and LiteRT, each behind
# the parity gate against the Keras model.
model="$run/work/val/distilled/seed${seeds%%,*}/model.keras"
.venv/bin/keras-pfs-export --model "$model" --format saved_model \
  --output "$run/export/student/1"
.venv/bin/keras-pfs-export --model "$model" --format tflite \
  --output "$run/export/student.tflite"
