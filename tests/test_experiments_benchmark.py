"""The benchmarks' harness: configs, timing, targets, records."""

import json
import os
import pathlib
import sys

import numpy as np
import pytest

from keras_pfs.experiments import benchmark, records

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_load_config_applies_smoke_then_overrides(tmp_path):
    path = tmp_path / "bench.json"
    config = {"sizes": [64], "repeats": 5, "name": "a", "smoke": {"sizes": [8]}}
    path.write_text(json.dumps(config))
    assert benchmark.load_config(str(path)) == {
        "sizes": [64],
        "repeats": 5,
        "name": "a",
    }
    config = benchmark.load_config(str(path), ["repeats=2", "name=b c"], smoke=True)
    assert config == {"sizes": [8], "repeats": 2, "name": "b c"}
    assert benchmark.load_config(str(path), ["sizes=[2, 3]"])["sizes"] == [2, 3]
    # The commands' one override language: Python literals and JSON alike.
    for text in ("name=None", "name=null"):
        assert benchmark.load_config(str(path), [text])["name"] is None
    with pytest.raises(ValueError, match="has no key 'repeat'"):
        benchmark.load_config(str(path), ["repeat=2"])


def test_shipped_benchmark_configs_load_with_their_smoke_sizes():
    paths = list((ROOT / "benchmarks" / "configs").glob("*.json"))
    assert len(paths) == 5
    for path in paths:
        full = benchmark.load_config(str(path))
        smoke = benchmark.load_config(str(path), smoke=True)
        assert set(full) == set(smoke), path
        if path.stem == "gpu_check":  # a check: its bounds are *_max_relative_diff
            assert full["mixed_max_relative_diff"] > 0
            continue
        assert all({"name", "figure", "where"} <= set(t) for t in full["targets"])


def test_time_calls_rotates_the_order_and_skips_warmup():
    order = []
    calls = {name: (lambda name=name: order.append(name) or name) for name in "abc"}
    samples, outputs = benchmark.time_calls(calls, repeats=2, warmup=1)
    assert order == list("abc") + list("bca") + list("cab")
    assert outputs == {"a": "a", "b": "b", "c": "c"}
    for sample in samples.values():
        assert len(sample["times_s"]) == len(sample["cpu_times_s"]) == 2
        assert sample["median_s"] == pytest.approx(sum(sample["times_s"]) / 2)


def test_check_targets_selects_rows_and_compares_versus_a_reference():
    rows = [
        {"model": "student", "runtime": "keras", "miou": 0.45, "latency_ms": 20.0},
        {"model": "student", "runtime": "int8", "miou": 0.43, "latency_ms": 10.0},
        {"model": "teacher", "runtime": "fp32", "miou": None, "latency_ms": 60.0},
    ]
    student_int8 = {"model": "student", "runtime": "int8"}
    targets = [
        dict(name="fast", figure="latency_ms", where={"model": "student"}, at_most=15),
        dict(
            name="speed-up",
            figure="latency_ms",
            where=student_int8,
            versus={"model": "teacher"},
            at_least=5,
        ),
        dict(
            name="drop",
            figure="miou",
            where=student_int8,
            versus={"runtime": "keras"},
            measure="difference",
            at_most=0.01,
        ),
        dict(name="scored", figure="miou", where={"model": "teacher"}, equals=1),
        dict(name="absent", figure="miou", where={"model": "other"}, at_least=0),
    ]
    results = benchmark.check_targets(targets, rows)
    assert [r["met"] for r in results] == [False, True, False, None, None]
    assert results[0]["values"] == [20.0, 10.0]
    assert results[1]["values"] == [6.0]
    assert results[2]["values"] == [pytest.approx(0.02)]
    no_reference = dict(targets[1], versus={"model": "other"})
    assert benchmark.check_targets([no_reference], rows)[0]["met"] is None
    with pytest.raises(ValueError, match="'fast': give one of at_least"):
        benchmark.check_targets([dict(targets[0], at_least=1)], rows)
    table = benchmark.targets_table(results)
    assert "| speed-up | met | 6 |" in table
    assert "| absent | not measured | no rows |" in table


def test_markdown_table():
    table = benchmark.markdown_table(["a", "b"], [[1, "x"], [2.5, None]])
    assert table == "| a | b |\n|---|---|\n| 1 | x |\n| 2.5 | None |"


def test_record_json_adds_metadata_and_replaces_atomically(tmp_path):
    path = str(tmp_path / "out" / "results.json")
    record = records.record_json(path, {"rows": [1], "date": "given"})
    with open(path) as f:
        assert json.load(f) == record
    assert record["rows"] == [1] and record["date"] == "given"
    assert "python" in record["command"] and "command" in record
    assert not os.path.exists(path + ".partial")
    machine = records.machine()
    assert machine["cpu_count"] == os.cpu_count()
    assert machine["memory_total_gb"] > 0
    assert f"{machine['cpu_count']} cores" in records.describe(machine)


def test_make_batch_is_random_from_the_seed_at_the_config_sizes():
    config = dict(batch_size=2, height=8, width=10, num_classes=5, seed=3)
    images, labels = benchmark.make_batch(config)
    assert images.shape == (2, 8, 10, 3) and labels.shape == (2, 8, 10)
    assert images.dtype.name == "float32" and labels.dtype.name == "int32"
    assert np.min(images) >= 0 and np.max(images) <= 255
    assert set(np.unique(labels)) <= set(range(5))
    again, _ = benchmark.make_batch(config)
    np.testing.assert_array_equal(images, again)


def test_train_step_runs_the_compiled_train_function_on_the_batch():
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    batch = (np.ones((4, 3), "float32"), np.zeros((4, 1), "float32"))
    step = benchmark.train_step(model, batch)
    losses = [step()["loss"] for _ in range(3)]
    assert all(isinstance(loss, float) for loss in losses)
    assert losses[2] < losses[0]  # the same batch, fitted step by step


def test_time_pipeline_counts_images_per_window():
    drawn = []

    def batches():
        while True:
            drawn.append(1)
            yield np.zeros((2, 4, 4, 3)), None

    figures = benchmark.time_pipeline(
        batches(), 2, windows=3, window_batches=4, warmup_batches=5
    )
    assert len(drawn) == 5 + 3 * 4
    assert len(figures["window_images_per_s"]) == 3
    assert len(figures["window_cpu_s_per_image"]) == 3
    assert figures["images_per_s"] > 0 and figures["cpu_s_per_image"] >= 0


def test_memory_figures_of_this_process():
    rss = benchmark.proc_bytes("/proc/self/status", "VmRSS")
    assert rss > 0 and benchmark.proc_bytes("/proc/meminfo", "MemTotal") > rss
    with pytest.raises(KeyError):
        benchmark.proc_bytes("/proc/self/status", "NoSuchField")
    baseline, peak_reset = benchmark.memory_baseline()
    assert baseline > 0 and isinstance(peak_reset, bool)


# A child that loads the harness module alone (stdlib only; fast to start).
_CHILD = "import runpy; harness = runpy.run_path({path!r}); {code}"


def _child(code):
    path = str(ROOT / "keras_pfs" / "experiments" / "benchmark.py")
    return [sys.executable, "-c", _CHILD.format(path=path, code=code)]


def test_run_child_reads_the_report_or_says_why_there_is_none():
    result = benchmark.run_child(_child("harness['report']({'a': 1})"), 60)
    assert result["a"] == 1 and result["wall_s"] > 0
    failed = benchmark.run_child([sys.executable, "-c", "raise SystemExit('no')"], 60)
    assert failed["status"] == "error: rc=1 no"
    slow = benchmark.run_child([sys.executable, "-c", "import time; time.sleep(9)"], 1)
    assert slow == {"status": "timeout after 1 s"}
    env = benchmark.run_child(
        _child("import os; harness['report']({'v': os.environ['PFS_TEST']})"),
        60,
        env={"PFS_TEST": "x"},
    )
    assert env["v"] == "x"


def test_watch_memory_ends_a_child_over_its_budget_as_oom():
    code = "import time; harness['watch_memory']({'row': 1}, 0, 1024); time.sleep(30)"
    result = benchmark.run_child(_child(code), 60)
    assert result["row"] == 1
    assert result["status"].startswith("OOM: over the")
    assert result["extra_bytes"] > 1024
