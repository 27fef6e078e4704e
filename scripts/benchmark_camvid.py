"""CamVid method table: teacher, baseline student and every distillation method.

Trains the teacher once, then with one schedule and seed per row the baseline
student and the student distilled by each method, through the package's own
commands (`keras-pfs-train` / `keras-pfs-distill`), and tabulates held-out
mIoU and per-class IoU. Every finished run is cached in `--workdir` and
reused, so an interrupted benchmark continues where it stopped.

Usage:
    python scripts/benchmark_camvid.py --data_dir ../shared/datasets/camvid
    python scripts/benchmark_camvid.py --data_dir ../shared/datasets/camvid --quick
"""

import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from absl import app, flags

from keras_pfs.losses.weighted_imitation import DEFAULT_WEIGHTING, WEIGHTINGS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, "configs", "camvid.py")

# Row name -> distillation losses (None: supervised training, no teacher).
# The imitation weighting is named explicitly, so a run cached under one
# default is never reused for another. The "ablation:" rows are "ours" with
# each knowledge-gap weighting; the one equal to the default is the
# "pfs+imitation" run itself (same losses, same seed, same run directory).
ROWS = {
    "teacher": None,
    "student": None,
    "kd": {"kd": {}},
    "skd": {"skd": {}},
    "cwd": {"cwd": {}},
    "ifvd": {"ifvd": {}},
    "pfs": {"pfs": {}},
    "imitation": {"imitation": {"weighting": DEFAULT_WEIGHTING}},
    "pfs+imitation": {"pfs": {}, "imitation": {"weighting": DEFAULT_WEIGHTING}},
    **{
        f"ablation:{w}": {"pfs": {}, "imitation": {"weighting": w}}
        for w in sorted(WEIGHTINGS)
    },
}
# The peer methods that ours must beat.
PEERS = ("kd", "skd", "cwd", "ifvd")
# Rows run with every seed: the baseline, ours, and ours' weighting ablation,
# which picks the default and so needs the same protection from noise.
SEEDED_ROWS = (
    "student",
    "pfs+imitation",
    *(r for r in ROWS if r.startswith("ablation:")),
)

flags.DEFINE_string("data_dir", None, "CamVid folder (train.txt, val.txt).")
flags.DEFINE_string("workdir", os.path.join(ROOT, "runs", "camvid"), "Run cache.")
flags.DEFINE_string(
    "output_dir", os.path.join(ROOT, "benchmarks", "camvid"), "Results folder."
)
flags.DEFINE_list("rows", list(ROWS), "Rows to run (teacher is always run).")
flags.DEFINE_list("seeds", ["0", "1"], "Seeds of the student and ours rows.")
flags.DEFINE_integer("epochs", None, "Student epochs (default: the config's).")
flags.DEFINE_integer("teacher_epochs", 40, "Teacher epochs.")
# Half-frame training crops keep the whole table within 2.5 hours on 2 CPU
# cores; full-frame (180, 240) crops would take about twice as long.
flags.DEFINE_multi_string(
    "set", ["crop_size=(120, 160)"], "Config overrides applied to every run."
)
flags.DEFINE_bool(
    "quick", False, "Tiny presets, 16+8 images, 1 epoch: the same code path."
)
FLAGS = flags.FLAGS


def _run_dir(row):
    """Run directory name: the row's losses and options, so that two rows
    with the same losses share one run."""
    if ROWS[row] is None:
        return row
    return "+".join(
        name + "".join(f"_{k}={v}" for k, v in sorted(options.items()))
        for name, options in ROWS[row].items()
    )


def _quick_lists(data_dir, folder):
    """List files of the first few frames, with absolute paths."""
    for split, count in (("train", 16), ("val", 8)):
        with open(os.path.join(data_dir, f"{split}.txt")) as f:
            lines = [line.split() for line in f if line.strip()][:count]
        with open(os.path.join(folder, f"{split}.txt"), "w") as f:
            for image, label in lines:
                f.write(
                    f"{os.path.join(os.path.abspath(data_dir), image)} "
                    f"{os.path.join(os.path.abspath(data_dir), label)}\n"
                )
    return folder


def _run(command, workdir, settings, extra_flags=()):
    """Runs one CLI training unless its finished model is cached."""
    record = os.path.join(workdir, "benchmark_run.json")
    if os.path.isfile(os.path.join(workdir, "model.keras")) and os.path.isfile(record):
        print(f"cached: {workdir}", flush=True)
    else:
        args = [sys.executable, "-m", f"keras_pfs.cli.{command}", "--config", CONFIG]
        args += [f"--set={s}" for s in settings] + [f"--workdir={workdir}"]
        args += list(extra_flags)
        print("running:", " ".join(args), flush=True)
        start = time.time()
        # A model without its record was not finished by this script: redo it.
        # Without a model, the command itself resumes from its backups.
        if os.path.isfile(os.path.join(workdir, "model.keras")):
            args.append("--overwrite")
        subprocess.run(args, check=True, cwd=ROOT)
        with open(record, "w") as f:
            json.dump({"seconds": time.time() - start, "command": args}, f)
    with open(os.path.join(workdir, "eval.json")) as f:
        result = json.load(f)
    with open(record) as f:
        result["seconds"] = json.load(f)["seconds"]
    result["model"] = os.path.join(workdir, "model.keras")
    return result


def _row(runs):
    """One table row from its runs (one per seed)."""
    return {
        "miou": float(np.mean([r["miou"] for r in runs])),
        "miou_seeds": [r["miou"] for r in runs],
        "per_class_iou": np.nanmean(
            [r["per_class_iou"] for r in runs], axis=0
        ).tolist(),
        "model": runs[0]["model"],
        "models": [r["model"] for r in runs],
        "class_names": runs[0]["class_names"],
        "seconds": float(np.mean([r["seconds"] for r in runs])),
        "seconds_seeds": [r["seconds"] for r in runs],
    }


def _complexity(settings):
    """Parameters and FLOPs (one 180x240 image) of the two presets."""
    from keras_pfs.config import load_config
    from keras_pfs.models import build_segmenter
    from keras_pfs.models.complexity import count_flops

    config = load_config(CONFIG, settings)
    out = {}
    for role, preset in (
        ("teacher", config.teacher_preset),
        ("student", config.student_preset),
    ):
        model = build_segmenter(preset, config.num_classes)
        out[role] = {
            "preset": preset,
            "params": model.count_params(),
            "gflops": count_flops(model, (180, 240)) / 1e9,
        }
    return out


def _verdict(results):
    """The knowledge-gap ablation and the issue's targets, from the figures."""
    lines = []
    ablation = {
        row.split(":", 1)[1]: results[row]
        for row in results
        if row.startswith("ablation:")
    }
    if ablation:
        best = max(ablation, key=lambda w: ablation[w]["miou"])
        lines += [
            "",
            "## Knowledge-gap ablation (pfs + imitation, val mIoU, mean over seeds)",
            "",
            "| weighting | mIoU | seeds |",
            "|---|---|---|",
            *(
                f"| {w} | {100 * r['miou']:.2f} | "
                + ", ".join(f"{100 * m:.2f}" for m in r["miou_seeds"])
                + " |"
                for w, r in ablation.items()
            ),
            "",
            f"Best: `{best}`. Default in `keras_pfs` when this table was written: "
            f"`{DEFAULT_WEIGHTING}`.",
        ]
    if "pfs+imitation" in results and "student" in results:
        ours = results["pfs+imitation"]["miou"]
        gain = 100 * (ours - results["student"]["miou"])
        lines += [
            "",
            "## Targets",
            "",
            f"- pfs+imitation - student = {gain:+.2f} mIoU (target >= +2.00): "
            + ("met." if gain >= 2.0 else "NOT met."),
        ]
        for peer in (p for p in PEERS if p in results):
            margin = 100 * (ours - results[peer]["miou"])
            lines.append(
                f"- pfs+imitation - {peer} = {margin:+.2f} mIoU (target > 0): "
                + ("met." if margin > 0 else "NOT met.")
            )
    return lines


def _total_hours(results):
    """Sum of every distinct run's time (rows that share a run count once)."""
    seconds = {}
    for r in results.values():
        seconds.update(zip(r["models"], r["seconds_seeds"], strict=True))
    return sum(seconds.values()) / 3600


def _write_readme(results, complexity, command, path, quick):
    names = results["teacher"]["class_names"]
    lines = [
        "# CamVid method table" + (" (QUICK smoke run: not a result)" if quick else ""),
        "",
        f"Command: `{command}`",
        "",
        "Machine: 2 CPU cores, 24 GB, no GPU. Held-out split: CamVid val (101",
        "frames, 240x180, void = 11 ignored). mIoU in %, mean over seeds; spread",
        "= max - min over seeds; train time per run, mean over seeds.",
        f"Training time of all runs together: {_total_hours(results):.2f} h.",
        "",
        "| row | mIoU | seeds | spread | train time (s) | " + " | ".join(names) + " |",
        "|---" * (5 + len(names)) + "|",
    ]
    for row, r in results.items():
        seeds = ", ".join(f"{100 * m:.2f}" for m in r["miou_seeds"])
        spread = 100 * (max(r["miou_seeds"]) - min(r["miou_seeds"]))
        per_class = " | ".join(
            "-" if np.isnan(v) else f"{100 * v:.1f}" for v in r["per_class_iou"]
        )
        lines.append(
            f"| {row} | {100 * r['miou']:.2f} | {seeds} | {spread:.2f} | "
            f"{r['seconds']:.0f} | {per_class} |"
        )
    lines += _verdict(results)
    lines += ["", "| model | preset | parameters | GFLOPs (1 x 180 x 240) |"]
    lines.append("|---|---|---|---|")
    for role, c in complexity.items():
        lines.append(
            f"| {role} | {c['preset']} | {c['params'] / 1e6:.2f}M | {c['gflops']:.2f} |"
        )
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main(argv):
    del argv
    if not FLAGS.data_dir or not os.path.isfile(
        os.path.join(FLAGS.data_dir, "train.txt")
    ):
        raise ValueError(f"--data_dir {FLAGS.data_dir}: no train.txt there.")
    unknown = sorted(set(FLAGS.rows) - set(ROWS))
    if unknown:
        raise ValueError(f"--rows: unknown row {unknown[0]!r}; known: {list(ROWS)}.")
    data_dir = os.path.abspath(FLAGS.data_dir)
    settings = list(FLAGS.set)
    if FLAGS.quick:
        data_dir = _quick_lists(data_dir, tempfile.mkdtemp(prefix="camvid_quick_"))
        settings += [
            "teacher_preset=tiny_resnet",
            "student_preset=tiny_mobile",
            "crop_size=(96, 128)",
            "batch_size=4",
        ]
    settings.append(f"data_dir={data_dir}")
    student_epochs = 1 if FLAGS.quick else FLAGS.epochs
    if student_epochs:
        settings.append(f"epochs={student_epochs}")
    teacher_epochs = 1 if FLAGS.quick else FLAGS.teacher_epochs

    teacher_dir = os.path.join(FLAGS.workdir, "teacher")
    teacher_settings = [*settings, f"epochs={teacher_epochs}", "seed=0"]
    teacher = _run("train", teacher_dir, teacher_settings, ["--role=teacher"])
    results = {"teacher": _row([teacher])}
    for row in FLAGS.rows:
        if row == "teacher":
            continue
        seeds = FLAGS.seeds if row in SEEDED_ROWS else FLAGS.seeds[:1]
        runs = []
        for seed in seeds:
            workdir = os.path.join(FLAGS.workdir, _run_dir(row), f"seed{seed}")
            row_settings = [*settings, f"seed={seed}"]
            if ROWS[row] is None:
                runs.append(_run("train", workdir, row_settings, ["--role=student"]))
            else:
                row_settings.append(f"distillation_losses={ROWS[row]!r}")
                runs.append(
                    _run(
                        "distill",
                        workdir,
                        row_settings,
                        [f"--teacher={results['teacher']['model']}"],
                    )
                )
        results[row] = _row(runs)
    os.makedirs(FLAGS.output_dir, exist_ok=True)
    command = "python scripts/benchmark_camvid.py " + " ".join(sys.argv[1:])
    complexity = _complexity(settings)
    with open(os.path.join(FLAGS.output_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
    with open(os.path.join(FLAGS.output_dir, "complexity.json"), "w") as f:
        json.dump({"command": command, **complexity}, f, indent=2)
    _write_readme(
        results,
        complexity,
        command,
        os.path.join(FLAGS.output_dir, "README.md"),
        FLAGS.quick,
    )
    for row, r in results.items():
        print(f"{row:<18}{100 * r['miou']:7.2f}")


if __name__ == "__main__":
    app.run(main)
