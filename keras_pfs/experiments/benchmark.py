"""What every benchmark script shares: configs, timing, targets, tables.

A benchmark's sweep, smoke sizes and targets are data: a JSON config file
(`benchmarks/configs/<name>.json`).

Example:

    config = load_config("benchmarks/configs/step.json", ["repeats=20"])
    samples, _ = time_calls({"step": step}, config["repeats"], config["warmup"])
"""

import json
import operator
import statistics
import time

_COMPARISONS = {"at_least": operator.ge, "at_most": operator.le, "equals": operator.eq}


def load_config(path, overrides=(), smoke=False):
    """Reads a JSON benchmark config and applies its smoke sizes and overrides.

    Args:
        path: the JSON file, an object.
        overrides: `"key=value"` strings set last; values are JSON (a bare
            word is a string).
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
        key, _, value = text.partition("=")
        if key not in config:
            raise ValueError(f"--set {text!r}: {path} has no key {key!r}.")
        try:
            config[key] = json.loads(value)
        except json.JSONDecodeError:
            config[key] = value
    return config


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
