"""What every benchmark script shares: configs, batches, steps, timing,
memory, child processes, targets, tables.

A benchmark's sweep, smoke sizes and targets are data: a JSON config file
(`benchmarks/configs/<name>.json`). A row whose peak memory must be its own
runs in a child process (`run_child`) that measures it (`memory_baseline`,
`watch_memory`, `proc_bytes`) and prints its result with `report`.

Example:

    config = load_config("benchmarks/configs/step.json", ["repeats=20"])
    samples, _ = time_calls({"step": step}, config["repeats"], config["warmup"])
"""

import gc
import json
import operator
import os
import statistics
import subprocess
import threading
import time

from keras_pfs.config import parse_override

_COMPARISONS = {"at_least": operator.ge, "at_most": operator.le, "equals": operator.eq}
RESULT_MARKER = "BENCHMARK_RESULT "
_OOM_SIGNS = ("ResourceExhausted", "MemoryError", "bad_alloc", "OOM when allocating")
GB = 1024**3


def load_config(path, overrides=(), smoke=False):
    """Reads a JSON benchmark config and applies its smoke sizes and overrides.

    Args:
        path: the JSON file, an object.
        overrides: `"key=value"` strings set last, parsed as every
            command's `--set` (`keras_pfs.config.parse_override`).
        smoke: apply the config's `"smoke"` object (tiny sizes for tests).

    Returns:
        The config dict, without its `"smoke"` entry.
    """
    with open(path) as source:
        config = json.load(source)
    smoke_settings = config.pop("smoke", {})
    if smoke:
        config.update(smoke_settings)
    for text in overrides:
        key, value = parse_override(text)
        if key not in config:
            raise ValueError(f"--set {text!r}: {path} has no key {key!r}.")
        config[key] = value
    return config


def make_batch(config, data_dir=None):
    """Returns one batch `(images, labels)` at a config's sizes.

    Args:
        config: dict with `batch_size`, `height`, `width`, `num_classes`,
            `seed` and, with `data_dir`, `ignore_class`.
        data_dir: a folder with a list file `train.txt`: the batch is its
            first pairs, centre-cropped to height x width. Default: random
            float32 images in 0..255 and int32 labels, from `seed`.

    Returns:
        `(images, labels)`: float32 `(B, H, W, 3)`, int32 `(B, H, W)` tensors.

    Example:

        images, labels = make_batch(
            dict(batch_size=2, height=32, width=40, num_classes=5, seed=0)
        )
    """
    import tensorflow as tf

    from keras_pfs.data import list_file_dataset

    size = (config["batch_size"], config["height"], config["width"])
    if data_dir:
        images, labels = next(
            iter(
                list_file_dataset(
                    os.path.join(data_dir, "train.txt"),
                    config["num_classes"],
                    config["ignore_class"],
                    batch_size=size[0],
                )
            )
        )
        crop = tf.image.resize_with_crop_or_pad
        return crop(images, *size[1:]), crop(labels[..., None], *size[1:])[..., 0]
    seed, num_classes = config["seed"], config["num_classes"]
    images = tf.random.stateless_uniform((*size, 3), (seed, 1), 0.0, 255.0)
    labels = tf.random.stateless_uniform(size, (seed, 2), 0, num_classes, tf.int32)
    return images, labels


def train_step(model, batch):
    """Returns `step()`: one call of the compiled model's `train_function`
    (what `fit()` runs), fed from a dataset repeating `batch`; its logs as
    floats, so each call waits for the step to finish.

    Args:
        model: a compiled Keras model (our `Distiller`, the stock
            `keras.distillation.Distiller`, ...).
        batch: `(images, labels)`.

    Example:

        step = train_step(distiller, make_batch(config))
        samples, logs = time_calls({"full": step}, repeats=10)
    """
    import tensorflow as tf

    model.make_train_function()
    iterator = iter(tf.data.Dataset.from_tensors(batch).repeat())

    def step():
        return {k: float(v) for k, v in model.train_function(iterator).items()}

    return step


def time_calls(calls, repeats, warmup=1):
    """Times callables in rounds: each is called once per round, in an order
    that rotates every round, so a slow phase of a shared CPU hits all alike.

    Args:
        calls: dict name -> callable without arguments.
        repeats: timed rounds.
        warmup: untimed rounds first.

    Returns:
        `(samples, outputs)`: per name, a dict of `times_s` (wall),
        `cpu_times_s` (process CPU time, all threads) and their medians
        `median_s` and `median_cpu_s`; per name, the output of its last call.
    """
    names = list(calls)
    times = {name: ([], []) for name in names}
    outputs = {}
    for index in range(warmup + repeats):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            wall, cpu = time.perf_counter(), time.process_time()
            outputs[name] = calls[name]()
            if index >= warmup:
                times[name][0].append(time.perf_counter() - wall)
                times[name][1].append(time.process_time() - cpu)
    samples = {
        name: {
            "times_s": wall,
            "cpu_times_s": cpu,
            "median_s": statistics.median(wall),
            "median_cpu_s": statistics.median(cpu),
        }
        for name, (wall, cpu) in times.items()
    }
    return samples, outputs


def time_pipeline(batches, batch_size, windows, window_batches, warmup_batches=0):
    """Times an input pipeline over windows of batches (`time_calls` rounds).

    Args:
        batches: an iterator of `(images, labels)` batches, e.g.
            `iter(dataset.repeat())`; images indexable as `[0, 0, 0, 0]`.
        batch_size: images per batch.
        windows: timed windows.
        window_batches: batches per window.
        warmup_batches: batches drawn first, untimed.

    Returns:
        Dict with the median window's `images_per_s`, the median process CPU
        seconds per image `cpu_s_per_image` (the pipeline's threads
        included), and per window `window_images_per_s` and
        `window_cpu_s_per_image`.

    Example:

        figures = time_pipeline(iter(dataset.repeat()), 8, windows=5,
                                window_batches=20, warmup_batches=10)
    """
    for _ in range(warmup_batches):
        next(batches)

    def window():
        for _ in range(window_batches):
            images, _ = next(batches)
        # Reading a value makes sure the last batch exists, not just its handle.
        float(images[0, 0, 0, 0])

    samples, _ = time_calls({"window": window}, windows, warmup=0)
    count = window_batches * batch_size
    rates = [count / wall for wall in samples["window"]["times_s"]]
    return {
        "images_per_s": statistics.median(rates),
        "cpu_s_per_image": samples["window"]["median_cpu_s"] / count,
        "window_images_per_s": rates,
        "window_cpu_s_per_image": [
            cpu / count for cpu in samples["window"]["cpu_times_s"]
        ],
    }


def check_targets(targets, rows):
    """Checks targets against result rows and prints whether each is met.

    A target is a dict: `name`; `figure`, the row key checked; `where`, the
    key/value pairs selecting its rows (all must pass); one comparison,
    `at_least`, `at_most` or `equals`. With `versus` (another `where`, one
    row), the checked value is `versus[figure] / row[figure]` (`"measure":
    "ratio"`, the default: e.g. a speed-up) or `versus[figure] - row[figure]`
    (`"measure": "difference"`: e.g. the mIoU lost).

    Args:
        targets: list of target dicts.
        rows: list of dict rows.

    Returns:
        One dict per target: `name`, `values` and `met` (None: not measured).
    """

    def select(where):
        return [r for r in rows if all(r.get(k) == v for k, v in where.items())]

    results = []
    for target in targets:
        comparison = [key for key in _COMPARISONS if key in target]
        if len(comparison) != 1:
            raise ValueError(
                f"Target {target['name']!r}: give one of {', '.join(_COMPARISONS)}."
            )
        comparison, bound = comparison[0], target[comparison[0]]
        values = [row.get(target["figure"]) for row in select(target["where"])]
        if "versus" in target:
            ref = [row.get(target["figure"]) for row in select(target["versus"])]
            ref = ref[0] if ref else None
            ratio = target.get("measure", "ratio") == "ratio"
            values = [
                None if None in (v, ref) else (ref / v if ratio else ref - v)
                for v in values
            ]
        met = None
        if values and None not in values:
            met = all(_COMPARISONS[comparison](v, bound) for v in values)
        result = {"name": target["name"], "values": values, "met": met}
        print(f"target {' | '.join(_target_cells(result))}", flush=True)
        results.append(result)
    return results


def _target_cells(result):
    verdict = {None: "not measured", True: "met", False: "NOT met"}[result["met"]]
    values = [f"{v:.4g}" if isinstance(v, float) else str(v) for v in result["values"]]
    return [result["name"], verdict, ", ".join(values) or "no rows"]


def targets_table(results):
    """Returns the results of `check_targets` as a markdown table."""
    rows = [_target_cells(result) for result in results]
    return markdown_table(["target", "met?", "values"], rows)


def markdown_table(header, rows):
    """Returns a markdown table: `header` is a list of column titles, `rows`
    lists of cells (converted with `str`)."""
    lines = ["| " + " | ".join(map(str, cells)) + " |" for cells in [header, *rows]]
    return "\n".join([lines[0], "|" + "---|" * len(header), *lines[1:]])


def proc_bytes(path, field):
    """Returns a memory field of a Linux `/proc` file, in bytes.

    Args:
        path: e.g. `/proc/self/status` or `/proc/meminfo`.
        field: e.g. `VmRSS`, `VmHWM` (peak RSS) or `MemAvailable`.

    Example:

        rss = proc_bytes("/proc/self/status", "VmRSS")
    """
    with open(path) as source:
        for line in source:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def memory_baseline():
    """Collects garbage, resets this process's peak RSS (`VmHWM`) to its
    current RSS where the kernel allows it, and returns the RSS: the
    baseline that a measured call's extra memory is counted from.

    Returns:
        `(baseline_bytes, peak_reset)`; without the reset, the later peak
        may predate the baseline.

    Example:

        baseline, peak_reset = memory_baseline()
        ...  # the measured calls
        extra = proc_bytes("/proc/self/status", "VmHWM") - baseline
    """
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        peak_reset = True
    except OSError:
        peak_reset = False
    return proc_bytes("/proc/self/status", "VmRSS"), peak_reset


def report(result):
    """Prints `result` (JSON) on the line that `run_child` reads back."""
    print(RESULT_MARKER + json.dumps(result), flush=True)


def watch_memory(result, baseline, budget_bytes, interval_s=0.05):
    """Starts a watchdog thread that ends this process as OOM once its RSS
    exceeds `budget_bytes` above `baseline`, reporting `result` with that
    status first. An address-space limit would not do: TensorFlow reserves
    far more virtual memory than it touches.

    Args:
        result: dict reported (with `status` and `extra_bytes`) on exit.
        baseline: RSS in bytes, e.g. from `memory_baseline`.
        budget_bytes: the extra RSS allowed.
        interval_s: seconds between two looks at the RSS.

    Returns:
        The (daemon) thread.

    Example:

        baseline, _ = memory_baseline()
        watch_memory({"row": 3}, baseline, 2 * GB)
    """

    def watch():
        while True:
            rss = proc_bytes("/proc/self/status", "VmRSS")
            if rss - baseline > budget_bytes:
                status = f"OOM: over the {budget_bytes / GB:g} GB budget"
                report({**result, "status": status, "extra_bytes": rss - baseline})
                os._exit(3)
            time.sleep(interval_s)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def run_child(command, timeout_s, env=None):
    """Runs a benchmark row in a fresh process, so that its time and peak
    memory are its own, and returns the result it `report`ed.

    Args:
        command: the child's command line, a list.
        timeout_s: seconds before the child is killed.
        env: variables set in the child on top of this process's.

    Returns:
        `{"wall_s", **reported}`; without a report, `status` says why:
        `"timeout after N s"` (then no `wall_s`), `"OOM"` (killed, or an
        out-of-memory error on stderr) or `"error: rc=N <last stderr line>"`.

    Example:

        result = run_child([sys.executable, "row.py", "--row=3"], 600)
    """
    start = time.perf_counter()
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired:
        return {"status": f"timeout after {timeout_s:g} s"}
    result = {"wall_s": time.perf_counter() - start}
    reports = [
        line for line in done.stdout.splitlines() if line.startswith(RESULT_MARKER)
    ]
    if reports:
        return {**result, **json.loads(reports[-1][len(RESULT_MARKER) :])}
    if done.returncode == -9 or any(sign in done.stderr for sign in _OOM_SIGNS):
        return {**result, "status": "OOM"}
    last = (done.stderr.strip().splitlines() or [""])[-1][:200]
    return {**result, "status": f"error: rc={done.returncode} {last}".strip()}
