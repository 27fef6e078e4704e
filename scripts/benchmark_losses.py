"""Benchmarks the PFS loss: dense N x N form versus the Gram form.

For every grid, teacher width and batch size of `benchmarks/configs/losses.json`,
`pixel_similarity_loss` is timed with `method="dense"` and `"gram"`, forward
only and forward plus the gradient wrt the student's features, each in a fresh
child process so that its peak memory is its own: "extra memory" is the peak
RSS minus the RSS once TF and the inputs are ready (the kernel's peak counter
is reset there). Dense rows predicted to need more than `memory_budget_gb` or
the memory available are skipped; a watchdog thread ends a child as OOM once
its RSS exceeds the budget (an address-space limit would not do: TF reserves
far more virtual memory than it touches). Linux only.

Usage:

    .venv/bin/python scripts/benchmark_losses.py \
        --output_json benchmarks/losses.json --output_md /tmp/losses_table.md
    .venv/bin/python scripts/benchmark_losses.py --smoke --output_json /tmp/s.json
"""

import itertools
import json
import os
import sys

import benchmark_harness as harness
from absl import app, flags

from keras_pfs.experiments import benchmark, records

harness.define_flags("losses")
flags.DEFINE_string("output_json", None, "Where to write the results as JSON.")
flags.DEFINE_string("output_md", None, "Where to write the table as markdown.")
flags.DEFINE_string("single", None, "Child mode: run this row (JSON), print JSON.")
FLAGS = flags.FLAGS
_GB = benchmark.GB


def run_single(row):
    """Times one row in this process and measures its extra memory.

    Args:
        row: dict with grid, teacher_width, student_width, batch, method,
            mode (`"fwd"` or `"fwd_grad"`), repeats, warmup, seed and
            memory_budget_gb.

    Returns:
        Dict with status, times, memory and the per-image loss values.
    """
    import numpy as np
    import tensorflow as tf

    from keras_pfs.losses.pixel_similarity import pixel_similarity_loss

    rng = np.random.default_rng(row["seed"])
    shape = (row["batch"], row["grid"], row["grid"])
    teacher = tf.constant(rng.standard_normal((*shape, row["teacher_width"]), "f4"))
    student = tf.constant(rng.standard_normal((*shape, row["student_width"]), "f4"))
    # One op starts TF's runtime and thread pools before the baseline.
    float(tf.reduce_sum(teacher) + tf.reduce_sum(student))
    baseline, peak_reset = benchmark.memory_baseline()

    @tf.function
    def call(t, s):
        with tf.GradientTape() as tape:
            tape.watch(s)
            loss = pixel_similarity_loss(t, s, method=row["method"])
        # Inside a tf.function the tape only adds ops when asked for the gradient.
        return loss, tape.gradient(loss, s) if row["mode"] == "fwd_grad" else loss

    result = {
        "tf_version": tf.__version__,
        "peak_reset": peak_reset,
        "baseline_rss_bytes": baseline,
    }
    benchmark.watch_memory(result, baseline, row["memory_budget_gb"] * _GB)
    try:
        samples, outputs = benchmark.time_calls(
            {"loss": lambda: call(teacher, student)[0].numpy()},
            row["repeats"],
            1 + row["warmup"],
        )
    except (tf.errors.ResourceExhaustedError, MemoryError) as error:
        lines = [line for line in str(error).splitlines() if "OOM" in line]
        result.update(status="OOM", error=(lines or [repr(error)])[0].strip()[:300])
    else:
        loss = [float(v) for v in outputs["loss"]]
        result.update(status="ok", **samples["loss"], loss=loss)
    peak = benchmark.proc_bytes("/proc/self/status", "VmHWM")
    result.update(peak_rss_bytes=peak, extra_bytes=peak - baseline)
    return result


def _skip_reason(row, config):
    """Returns why a dense row is not run (predicted memory), or None."""
    need = config["dense_matrices"][row["mode"]] * 4 * row["batch"] * row["grid"] ** 4
    available = benchmark.proc_bytes("/proc/meminfo", "MemAvailable") - _GB
    limit = min(config["memory_budget_gb"] * _GB, available)
    if row["method"] == "dense" and need > limit:
        return f"skipped: would need {need / _GB:.1f} GB, limit {limit / _GB:.1f} GB"
    return None


def compare(rows):
    """Pairs the dense and Gram rows of each configuration and pass.

    Returns:
        One dict per (configuration, pass): both statuses, medians and extra
        MB, the dense/Gram time and memory ratios and the largest per-image
        relative difference of the losses (None where not computable).
    """
    keys = ("grid", "teacher_width", "student_width", "batch", "mode")
    pairs = {}
    for row in rows:
        pairs.setdefault(tuple(row[k] for k in keys), {})[row["method"]] = row
    comparisons = []
    for key, pair in pairs.items():
        entry = dict(zip(keys, key, strict=True))
        for method in ("dense", "gram"):
            extra = pair[method].get("extra_bytes")
            entry[f"{method}_status"] = pair[method]["status"]
            entry[f"{method}_median_s"] = pair[method].get("median_s")
            entry[f"{method}_extra_mb"] = None if extra is None else extra / 2**20
        entry.update(time_ratio=None, memory_ratio=None, relative_diff=None)
        dense, gram = pair["dense"], pair["gram"]
        if dense["status"] == gram["status"] == "ok":
            entry["time_ratio"] = dense["median_s"] / gram["median_s"]
            if gram["extra_bytes"] > 0:
                entry["memory_ratio"] = dense["extra_bytes"] / gram["extra_bytes"]
            entry["relative_diff"] = max(
                abs(d - g) / abs(d)
                for d, g in zip(dense["loss"], gram["loss"], strict=True)
            )
        comparisons.append(entry)
    return comparisons


def table(comparisons):
    """Formats the comparisons as a markdown table."""

    def time_and_memory(c, method):
        status, seconds = c[f"{method}_status"], c[f"{method}_median_s"]
        if status != "ok":
            return status, ""
        time = f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"
        return time, f"{c[f'{method}_extra_mb']:.0f} MB"

    def ratio(value, form="{:.1f}x"):
        return "n/a" if value is None else form.format(value)

    rows = []
    for c in comparisons:
        (dense_time, dense_mb), (gram_time, gram_mb) = (
            time_and_memory(c, method) for method in ("dense", "gram")
        )
        rows.append(
            [f"{c['grid']}x{c['grid']}", c["teacher_width"], c["batch"]]
            + [c["mode"].replace("_", "+"), dense_time, gram_time]
            + [ratio(c["time_ratio"]), dense_mb, gram_mb, ratio(c["memory_ratio"])]
            + [ratio(c["relative_diff"], "{:.1e}")]
        )
    header = "grid|Ct|B|pass|dense time|Gram time|time ratio|dense extra|Gram extra"
    header += "|mem ratio|rel. diff"
    return benchmark.markdown_table(header.split("|"), rows)


def main(argv):
    del argv
    if FLAGS.single:
        benchmark.report(run_single(json.loads(FLAGS.single)))
        return
    config = harness.config_from_flags()
    rows = []
    for grid, teacher_width, batch, mode, method in itertools.product(
        config["grids"],
        config["teacher_widths"],
        config["batch_sizes"],
        ("fwd", "fwd_grad"),
        ("dense", "gram"),
    ):
        row = dict(grid=grid, teacher_width=teacher_width, batch=batch)
        row.update(student_width=config["student_width"], method=method, mode=mode)
        reason = _skip_reason(row, config)
        if reason:
            row["status"] = reason
        else:
            repeats = config["fwd_repeats" if mode == "fwd" else "grad_repeats"]
            child = dict(repeats=repeats, warmup=config["warmup"], seed=config["seed"])
            child["memory_budget_gb"] = config["memory_budget_gb"]
            row.update(child)
            command = [sys.executable, os.path.abspath(__file__), "--single"]
            command.append(json.dumps(row))
            env = {"KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}
            row.update(benchmark.run_child(command, config["timeout_s"], env))
        rows.append(row)
        print(
            f"{grid}x{grid} Ct={teacher_width} B={batch} {mode} {method}: "
            f"{row['status']} median={row.get('median_s')} "
            f"extra_bytes={row.get('extra_bytes')}",
            flush=True,
        )
    comparisons = compare(rows)
    targets = benchmark.check_targets(config["targets"], comparisons)
    meta = records.machine()
    versions = {row["tf_version"] for row in rows if "tf_version" in row}
    meta["tensorflow"] = ", ".join(sorted(versions))
    meta["peak_reset"] = all(row.get("peak_reset", True) for row in rows)
    tables = [table(comparisons), "", benchmark.targets_table(targets)]
    print("\n".join(tables))
    header = [f"Command: `{records.command()}`", "", records.describe(meta), ""]
    if FLAGS.output_json:
        records.record_json(
            FLAGS.output_json,
            dict(
                meta=meta,
                settings=config,
                rows=rows,
                comparisons=comparisons,
                targets=targets,
            ),
        )
    if FLAGS.output_md:
        with open(FLAGS.output_md, "w") as out:
            out.write("\n".join(header + tables) + "\n")


if __name__ == "__main__":
    app.run(main)
