"""Benchmarks the PFS loss: dense N x N form versus the Gram form.

For every feature grid, teacher width and batch size, `pixel_similarity_loss` is
timed with `method="dense"` and `method="gram"`, forward only and forward plus
the gradient with respect to the student's features. Each (configuration,
method, pass) runs in a fresh child process (`--single`), so that its peak
memory is its own. The child resets the kernel's peak-RSS counter after TF's
import and the creation of the inputs, and reports "extra memory": its peak RSS
minus its RSS at that point, i.e. what the loss itself needs.

Dense configurations predicted to need more than `--memory_budget_gb` (or more
than the memory currently available) are skipped. A watchdog thread in each child
ends it as OOM once its RSS exceeds the budget above its baseline (an
address-space limit would not do: TF reserves far more virtual memory than it
touches), and a child that fails with `ResourceExhaustedError`/`MemoryError` or is
killed is reported as OOM too. Linux only (reads `/proc/self/status`).

Usage:

    .venv/bin/python scripts/benchmark_losses.py \
        --output_json benchmarks/losses.json --output_md /tmp/losses_table.md
    .venv/bin/python scripts/benchmark_losses.py --smoke --output_json /tmp/s.json
"""

import datetime
import gc
import json
import os
import statistics
import subprocess
import sys
import threading
import time

from absl import app, flags

FLAGS = flags.FLAGS

flags.DEFINE_list("grids", ["33", "65", "97", "129"], "Feature grid sides (H = W).")
flags.DEFINE_list("teacher_widths", ["256", "512"], "Teacher channel counts.")
flags.DEFINE_integer("student_width", 128, "Student channel count.")
flags.DEFINE_list("batch_sizes", ["4", "8"], "Batch sizes.")
flags.DEFINE_integer("fwd_repeats", 5, "Timed forward calls (median reported).")
flags.DEFINE_integer("grad_repeats", 3, "Timed forward+gradient calls.")
flags.DEFINE_integer("warmup", 1, "Untimed calls after the tracing call.")
flags.DEFINE_float(
    "memory_budget_gb",
    16.0,
    "Skip dense configurations predicted to need more extra memory; children "
    "whose RSS grows more than this above their baseline are stopped as OOM.",
)
flags.DEFINE_float("timeout_s", 900.0, "Per-child timeout in seconds.")
flags.DEFINE_integer("seed", 0, "Seed of the random features.")
flags.DEFINE_string("output_json", None, "Where to write the results as JSON.")
flags.DEFINE_string("output_md", None, "Where to write the table as markdown.")
flags.DEFINE_bool(
    "smoke",
    False,
    "Tiny grid (9x9 and 17x17, widths 16/8, batch 2, 2 repeats) for tests.",
)
flags.DEFINE_bool("single", False, "Child mode: run one configuration, print JSON.")
flags.DEFINE_integer("grid", 33, "Child mode: grid side.")
flags.DEFINE_integer("teacher_width", 256, "Child mode: teacher channel count.")
flags.DEFINE_integer("batch", 4, "Child mode: batch size.")
flags.DEFINE_enum("method", "gram", ["gram", "dense"], "Child mode: loss form.")
flags.DEFINE_enum("mode", "fwd", ["fwd", "fwd_grad"], "Child mode: pass to time.")
flags.DEFINE_integer("repeats", 5, "Child mode: timed calls.")

METHODS = ("dense", "gram")
MODES = ("fwd", "fwd_grad")
# Extra memory of the dense form in B x N x N float32 matrices, measured with this
# script at 65x65 and 97x97, B=4, Ct=256 (2.2-2.3 forward, 4.3-4.35 forward +
# gradient), rounded up; used to pre-empt configurations over the budget.
DENSE_MATRICES = {"fwd": 2.5, "fwd_grad": 4.5}
_RESULT_MARKER = "BENCHMARK_RESULT "
_OOM_SIGNS = ("ResourceExhausted", "MemoryError", "bad_alloc", "OOM when allocating")
_GB = 1024**3
_MB = 1024**2
_WATCH_INTERVAL_S = 0.05


def _proc_status_bytes(field):
    """Returns a `/proc/self/status` memory field (e.g. "VmRSS") in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def _available_bytes():
    """Returns MemAvailable from `/proc/meminfo` in bytes."""
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    raise KeyError("MemAvailable")


def _reset_peak_rss():
    """Resets VmHWM (peak RSS) to the current RSS; True if the kernel allowed it."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def predicted_dense_bytes(grid, batch, mode):
    """Predicts the extra memory of the dense form from its N x N matrices.

    Args:
        grid: grid side, N = grid^2.
        batch: batch size.
        mode: `"fwd"` or `"fwd_grad"`.

    Returns:
        Predicted bytes.
    """
    return DENSE_MATRICES[mode] * 4 * batch * grid**4


def _report(result):
    """Prints a child's result as the line the parent looks for."""
    print(_RESULT_MARKER + json.dumps(result), flush=True)


def _watch_memory(result, baseline, budget_bytes):
    """Ends the process as OOM once its RSS exceeds `budget_bytes` above baseline."""
    while True:
        rss = _proc_status_bytes("VmRSS")
        if rss - baseline > budget_bytes:
            result.update(
                status=f"OOM: over the {budget_bytes / _GB:g} GB budget",
                peak_rss_bytes=rss,
                extra_bytes=rss - baseline,
            )
            _report(result)
            os._exit(3)
        time.sleep(_WATCH_INTERVAL_S)


def run_single(
    grid,
    teacher_width,
    student_width,
    batch,
    method,
    mode,
    repeats,
    warmup,
    seed,
    budget_bytes,
):
    """Times one configuration in this process and measures its extra memory.

    Args:
        grid: grid side.
        teacher_width: teacher channel count.
        student_width: student channel count.
        batch: batch size.
        method: `"dense"` or `"gram"`.
        mode: `"fwd"` or `"fwd_grad"` (gradient wrt the student's features).
        repeats: timed calls.
        warmup: untimed calls after the tracing call.
        seed: seed of the random features (same inputs for both methods).
        budget_bytes: RSS allowance above the baseline; the process reports OOM
            and exits once it is exceeded.

    Returns:
        Dict with status, times, memory and the per-image loss values.
    """
    import numpy as np
    import tensorflow as tf

    from keras_pfs.losses.pixel_similarity import pixel_similarity_loss

    rng = np.random.default_rng(seed)
    teacher = tf.constant(
        rng.standard_normal((batch, grid, grid, teacher_width), dtype=np.float32)
    )
    student = tf.constant(
        rng.standard_normal((batch, grid, grid, student_width), dtype=np.float32)
    )
    # One op starts TF's runtime and thread pools before the baseline.
    float(tf.reduce_sum(teacher) + tf.reduce_sum(student))
    gc.collect()
    peak_reset = _reset_peak_rss()
    baseline = _proc_status_bytes("VmRSS")

    @tf.function
    def forward(t, s):
        return pixel_similarity_loss(t, s, method=method)

    @tf.function
    def forward_grad(t, s):
        with tf.GradientTape() as tape:
            tape.watch(s)
            loss = pixel_similarity_loss(t, s, method=method)
        return loss, tape.gradient(loss, s)

    def call():
        if mode == "fwd":
            return forward(teacher, student).numpy()
        loss, _ = forward_grad(teacher, student)
        return loss.numpy()

    result = {
        "tf_version": tf.__version__,
        "peak_reset": peak_reset,
        "baseline_rss_bytes": baseline,
    }
    threading.Thread(
        target=_watch_memory, args=(result, baseline, budget_bytes), daemon=True
    ).start()
    try:
        for _ in range(1 + warmup):
            values = call()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            values = call()
            times.append(time.perf_counter() - start)
    except (tf.errors.ResourceExhaustedError, MemoryError) as error:
        lines = str(error).splitlines() or [type(error).__name__]
        oom_lines = [line for line in lines if "OOM" in line] or lines
        result.update(status="OOM", error=oom_lines[0].strip()[:300])
    else:
        result.update(
            status="ok",
            times_s=times,
            median_s=statistics.median(times),
            loss=[float(v) for v in values],
        )
    peak = _proc_status_bytes("VmHWM")
    result.update(peak_rss_bytes=peak, extra_bytes=peak - baseline)
    return result


def _classify_failure(returncode, stderr):
    """Names why a child without a result failed: "OOM" or "error: ..."."""
    if returncode == -9 or any(sign in stderr for sign in _OOM_SIGNS):
        return "OOM"
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return f"error: rc={returncode} {lines[-1][:200] if lines else ''}".strip()


def _run_child(config, method, mode, settings):
    """Runs one configuration in a fresh child process and returns its row."""
    repeats = settings["fwd_repeats"] if mode == "fwd" else settings["grad_repeats"]
    command = [
        sys.executable,
        os.path.abspath(__file__),
        "--single",
        f"--grid={config['grid']}",
        f"--teacher_width={config['teacher_width']}",
        f"--student_width={config['student_width']}",
        f"--batch={config['batch']}",
        f"--method={method}",
        f"--mode={mode}",
        f"--repeats={repeats}",
        f"--warmup={settings['warmup']}",
        f"--seed={settings['seed']}",
        f"--memory_budget_gb={settings['memory_budget_gb']}",
    ]
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}
    row = {**config, "method": method, "mode": mode, "repeats": repeats}
    start = time.perf_counter()
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=env,
            timeout=settings["timeout_s"],
            check=False,
        )
    except subprocess.TimeoutExpired:
        row["status"] = f"timeout after {settings['timeout_s']:g} s"
        return row
    row["wall_s"] = time.perf_counter() - start
    reports = [
        line for line in done.stdout.splitlines() if line.startswith(_RESULT_MARKER)
    ]
    if reports:
        row.update(json.loads(reports[-1][len(_RESULT_MARKER) :]))
    else:
        row["status"] = _classify_failure(done.returncode, done.stderr)
    return row


def _skip_reason(config, method, mode, budget_bytes):
    """Returns why a dense configuration is pre-empted, or None to run it."""
    if method != "dense":
        return None
    need = predicted_dense_bytes(config["grid"], config["batch"], mode)
    if need > budget_bytes:
        return f"skipped: would need {need / _GB:.1f} GB"
    available = _available_bytes() - _GB
    if need > available:
        return (
            f"skipped: would need {need / _GB:.1f} GB, "
            f"{available / _GB:.1f} GB available"
        )
    return None


def compare(rows):
    """Pairs dense and Gram rows of each configuration and pass.

    Args:
        rows: result rows as produced by the children.

    Returns:
        One dict per (configuration, pass): both statuses and medians, the
        dense/gram time and extra-memory ratios and the largest per-image
        relative difference of the loss values (None where not computable).
    """
    keyed = {}
    for row in rows:
        key = (
            row["grid"],
            row["teacher_width"],
            row["student_width"],
            row["batch"],
            row["mode"],
        )
        keyed.setdefault(key, {})[row["method"]] = row
    comparisons = []
    for (grid, teacher_width, student_width, batch, mode), pair in keyed.items():
        dense, gram = pair["dense"], pair["gram"]
        both_ok = dense["status"] == "ok" and gram["status"] == "ok"
        entry = {
            "grid": grid,
            "teacher_width": teacher_width,
            "student_width": student_width,
            "batch": batch,
            "mode": mode,
            "dense_status": dense["status"],
            "gram_status": gram["status"],
            "dense_median_s": dense.get("median_s"),
            "gram_median_s": gram.get("median_s"),
            "dense_extra_mb": _mb(dense.get("extra_bytes")),
            "gram_extra_mb": _mb(gram.get("extra_bytes")),
            "time_ratio": None,
            "memory_ratio": None,
            "relative_diff": None,
        }
        if both_ok:
            entry["time_ratio"] = dense["median_s"] / gram["median_s"]
            if gram["extra_bytes"] > 0:
                entry["memory_ratio"] = dense["extra_bytes"] / gram["extra_bytes"]
            entry["relative_diff"] = max(
                abs(d - g) / abs(d)
                for d, g in zip(dense["loss"], gram["loss"], strict=True)
            )
        comparisons.append(entry)
    return comparisons


def _mb(num_bytes):
    return None if num_bytes is None else num_bytes / _MB


def _fmt_time(seconds, status):
    if status != "ok":
        return status
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _fmt_mb(megabytes, status):
    return "" if status != "ok" or megabytes is None else f"{megabytes:.0f} MB"


def _fmt_ratio(ratio):
    return "n/a" if ratio is None else f"{ratio:.1f}x"


def table_lines(comparisons):
    """Formats the comparisons as markdown table lines."""
    lines = [
        "| grid | Ct | B | pass | dense time | Gram time | time ratio "
        "| dense extra | Gram extra | mem ratio | rel. diff |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in comparisons:
        diff = "n/a" if c["relative_diff"] is None else f"{c['relative_diff']:.1e}"
        cells = [
            f"{c['grid']}x{c['grid']}",
            str(c["teacher_width"]),
            str(c["batch"]),
            c["mode"].replace("_", "+"),
            _fmt_time(c["dense_median_s"], c["dense_status"]),
            _fmt_time(c["gram_median_s"], c["gram_status"]),
            _fmt_ratio(c["time_ratio"]),
            _fmt_mb(c["dense_extra_mb"], c["dense_status"]),
            _fmt_mb(c["gram_extra_mb"], c["gram_status"]),
            _fmt_ratio(c["memory_ratio"]),
            diff,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _settings():
    """Collects the grid of configurations and timing settings from the flags."""
    if FLAGS.smoke:
        return {
            "grids": [9, 17],
            "teacher_widths": [16],
            "student_width": 8,
            "batch_sizes": [2],
            "fwd_repeats": 2,
            "grad_repeats": 2,
            "warmup": 1,
            "memory_budget_gb": FLAGS.memory_budget_gb,
            "timeout_s": 120.0,
            "seed": FLAGS.seed,
        }
    return {
        "grids": [int(g) for g in FLAGS.grids],
        "teacher_widths": [int(c) for c in FLAGS.teacher_widths],
        "student_width": FLAGS.student_width,
        "batch_sizes": [int(b) for b in FLAGS.batch_sizes],
        "fwd_repeats": FLAGS.fwd_repeats,
        "grad_repeats": FLAGS.grad_repeats,
        "warmup": FLAGS.warmup,
        "memory_budget_gb": FLAGS.memory_budget_gb,
        "timeout_s": FLAGS.timeout_s,
        "seed": FLAGS.seed,
    }


def run_benchmark(settings):
    """Runs every configuration in its own child and prints a line per child.

    Args:
        settings: dict from `_settings`.

    Returns:
        List of result rows.
    """
    budget_bytes = settings["memory_budget_gb"] * _GB
    rows = []
    for grid in settings["grids"]:
        for teacher_width in settings["teacher_widths"]:
            for batch in settings["batch_sizes"]:
                config = {
                    "grid": grid,
                    "teacher_width": teacher_width,
                    "student_width": settings["student_width"],
                    "batch": batch,
                }
                for mode in MODES:
                    for method in METHODS:
                        reason = _skip_reason(config, method, mode, budget_bytes)
                        if reason:
                            row = {
                                **config,
                                "method": method,
                                "mode": mode,
                                "status": reason,
                            }
                        else:
                            row = _run_child(config, method, mode, settings)
                        rows.append(row)
                        print(
                            f"{grid}x{grid} Ct={teacher_width} B={batch} {mode} "
                            f"{method}: {row['status']} "
                            f"median={row.get('median_s')} "
                            f"extra_mb={_mb(row.get('extra_bytes'))}",
                            flush=True,
                        )
    return rows


def _meta(rows, started, load_start):
    versions = {row["tf_version"] for row in rows if "tf_version" in row}
    with open("/proc/meminfo") as meminfo:
        total_kb = int(meminfo.readline().split()[1])
    return {
        "command": " ".join([os.path.relpath(sys.executable), *sys.argv]),
        "started": started,
        "cpu_count": os.cpu_count(),
        "memory_total_gb": round(total_kb / 1024**2, 1),
        "tf_version": sorted(versions),
        "loadavg_start": load_start,
        "loadavg_end": os.getloadavg(),
        "peak_reset": all(row.get("peak_reset", True) for row in rows),
        "dense_matrices_prediction": DENSE_MATRICES,
    }


def main(argv):
    del argv
    if FLAGS.single:
        result = run_single(
            FLAGS.grid,
            FLAGS.teacher_width,
            FLAGS.student_width,
            FLAGS.batch,
            FLAGS.method,
            FLAGS.mode,
            FLAGS.repeats,
            FLAGS.warmup,
            FLAGS.seed,
            FLAGS.memory_budget_gb * _GB,
        )
        _report(result)
        return
    started = datetime.datetime.now().isoformat(timespec="seconds")
    load_start = os.getloadavg()
    settings = _settings()
    rows = run_benchmark(settings)
    comparisons = compare(rows)
    meta = _meta(rows, started, load_start)
    lines = table_lines(comparisons)
    print("\n".join(lines))
    if FLAGS.output_json:
        with open(FLAGS.output_json, "w") as out:
            json.dump(
                {
                    "meta": meta,
                    "settings": settings,
                    "rows": rows,
                    "comparisons": comparisons,
                },
                out,
                indent=1,
            )
    if FLAGS.output_md:
        header = [
            f"Command: `{meta['command']}`",
            "",
            f"Machine: {meta['cpu_count']} cores, {meta['memory_total_gb']} GB, "
            f"TF {', '.join(meta['tf_version'])}; load average at start "
            f"{meta['loadavg_start'][0]:.2f}, at end {meta['loadavg_end'][0]:.2f}.",
            "",
        ]
        with open(FLAGS.output_md, "w") as out:
            out.write("\n".join(header + lines) + "\n")


if __name__ == "__main__":
    app.run(main)
