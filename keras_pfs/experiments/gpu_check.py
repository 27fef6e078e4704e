"""Checks of the Distiller's GPU paths, to run in minutes before a long run.

On one random batch at a config's sizes (`benchmarks/configs/gpu_check.json`:
CamVid's models at its full 360x480), four checks, each returning its figures
and whether it passed:

- `one_step`: one distillation step on one device and under
  `MirroredStrategy` (every visible device), from the same weights: the
  logged losses and the updated weights agree.
- `mixed_float16`: `mixed_steps` SGD steps under `mixed_float16` with dynamic
  loss scaling and under float32, from the same weights: every loss is
  finite and the weights end close to float32's (`|w16 - w32| / |w32|`).
- `xla`: one step with `jit_compile=True` against one with
  `run_eagerly=True`.
- `throughput`: training images per second of the student trained alone, of
  the teacher's forward pass and of the distillation step (XLA off and on).

Without a GPU the same checks run on the CPU, with two logical CPU devices
for `MirroredStrategy` (`use_two_cpus_without_gpu`). `scripts/gpu_check.py`
is the command (`bash scripts/gpu_check.sh`).

Example:

    gpus = use_two_cpus_without_gpu()  # before TensorFlow runs any op
    config = benchmark.load_config("benchmarks/configs/gpu_check.json",
                                   smoke=not gpus)
    result = run_checks(config)        # result["passed"], result["checks"]
"""

import json
import time

import numpy as np

from keras_pfs.experiments import benchmark


class CheckSetup:
    """What the checks share: the config, the batch and the models' initial
    weights.

    `models()` builds a fresh (student, teacher) pair in the current strategy
    scope and dtype policy, set to those weights. `timed` holds the distillers
    a check made that the throughput check times too (building and tracing
    one again would double the run's time).

    Args:
        config: a gpu_check config: `student`, `teacher`, `num_classes`,
            `batch_size`, `height`, `width`, `seed`, `learning_rate` and the
            checks' bounds.

    Example:

        setup = CheckSetup(config)
        logs = setup.step(setup.distiller())  # {"loss": ..., "ce": ...}
    """

    def __init__(self, config):
        import keras

        self.config = config
        self.batch = benchmark.make_batch(config)
        self.timed = {}
        keras.utils.set_random_seed(config["seed"])
        student, teacher = self._build()
        self.weights = (student.get_weights(), teacher.get_weights())

    def _build(self):
        from keras_pfs.models import build_segmenter

        return (
            build_segmenter(self.config["student"], self.config["num_classes"]),
            build_segmenter(self.config["teacher"], self.config["num_classes"]),
        )

    def models(self):
        """Returns a fresh `(student, teacher)` set to the initial weights."""
        student, teacher = self._build()
        student.set_weights(self.weights[0])
        teacher.set_weights(self.weights[1])
        return student, teacher

    def distiller(self, optimizer=None, teacher=True, **compile_options):
        """Returns a compiled `Distiller` on fresh models (`teacher=False`: the
        student trained alone), SGD unless `optimizer` is given."""
        import keras

        from keras_pfs.distiller import Distiller

        student, teacher_model = self.models()
        if teacher:
            distiller = Distiller(student, teacher_model)
        else:
            distiller = Distiller(student, None, distillation_losses={})
        distiller.compile(
            optimizer=optimizer or keras.optimizers.SGD(self.config["learning_rate"]),
            **compile_options,
        )
        return distiller

    def step(self, distiller):
        """Runs one training step on the batch; returns its logs as floats."""
        logs = distiller.train_on_batch(*self.batch, return_dict=True)
        return {name: float(value) for name, value in logs.items()}


def relative_diff(a, b):
    """Largest difference of two lists of arrays (or dicts of floats, matched
    by key), relative to the largest magnitude of `a`.

    Args:
        a: list of arrays, or dict name -> float.
        b: the same structure.

    Returns:
        `max |a - b| / max |a|`, a float.

    Example:

    >>> relative_diff({"loss": 2.0, "ce": 1.0}, {"loss": 2.0, "ce": 1.5})
    0.25
    """
    if isinstance(a, dict):
        a, b = [a[k] for k in sorted(a)], [b[k] for k in sorted(a)]
    a = np.concatenate([np.ravel(x) for x in a])
    b = np.concatenate([np.ravel(x) for x in b])
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), 1e-12))


def check_one_step(setup):
    """One step on one device against one under `MirroredStrategy`."""
    from keras_pfs.distribute import get_strategy

    single = setup.timed["distillation_step"] = setup.distiller()
    single_logs = setup.step(single)
    strategy = get_strategy("mirrored")
    with strategy.scope():
        mirrored = setup.distiller()
    mirrored_logs = setup.step(mirrored)
    losses = relative_diff(single_logs, mirrored_logs)
    weights = relative_diff(
        single.student.get_weights(), mirrored.student.get_weights()
    )
    bound = setup.config["one_step_max_relative_diff"]
    return {
        "replicas": strategy.num_replicas_in_sync,
        "one_device": single_logs,
        "mirrored": mirrored_logs,
        "losses_relative_diff": losses,
        "weights_relative_diff": weights,
        "passed": losses <= bound and weights <= bound,
    }


def _norm(arrays):
    return float(np.sqrt(sum(np.sum(np.square(a)) for a in arrays)))


def check_mixed_float16(setup):
    """`mixed_steps` steps under `mixed_float16` against float32."""
    import keras

    runs = {}
    for policy in ("float32", "mixed_float16"):
        keras.mixed_precision.set_dtype_policy(policy)
        try:
            optimizer = keras.optimizers.SGD(setup.config["learning_rate"])
            if policy == "mixed_float16":
                # From 2**15 the first float16 steps overflow and are skipped,
                # which would compare fewer steps than float32's.
                optimizer = keras.optimizers.LossScaleOptimizer(
                    optimizer, initial_scale=2.0**10
                )
            distiller = setup.distiller(optimizer)
        finally:
            keras.mixed_precision.set_dtype_policy("float32")
        start = [v.numpy() for v in distiller.student.trainable_variables]
        steps = range(setup.config["mixed_steps"])
        losses = [setup.step(distiller)["loss"] for _ in steps]
        end = [v.numpy() for v in distiller.student.trainable_variables]
        runs[policy] = (losses, start, end)
    (losses32, start, end32), (losses16, _, end16) = runs.values()
    difference = _norm([b - a for a, b in zip(end32, end16, strict=True)])
    relative = difference / _norm(end32)
    finite = bool(np.all(np.isfinite(losses16)))
    return {
        "losses_float32": losses32,
        "losses_mixed_float16": losses16,
        "weights_relative_diff": relative,
        # For scale: what the float32 steps changed, against the weights.
        "update_relative_to_weights": (
            _norm([b - a for a, b in zip(start, end32, strict=True)]) / _norm(end32)
        ),
        "passed": finite and relative <= setup.config["mixed_max_relative_diff"],
    }


def check_xla(setup):
    """One step with `jit_compile=True` against one with `run_eagerly=True`."""
    runs = {}
    for name, options in (
        ("xla", {"jit_compile": True}),
        ("eager", {"run_eagerly": True}),
    ):
        distiller = setup.distiller(**options)
        runs[name] = (setup.step(distiller), distiller.student.get_weights())
        if name == "xla":
            jit = bool(distiller.jit_compile)
            setup.timed["distillation_step_xla"] = distiller
    losses = relative_diff(runs["xla"][0], runs["eager"][0])
    weights = relative_diff(runs["xla"][1], runs["eager"][1])
    bound = setup.config["xla_max_relative_diff"]
    return {
        "jit_compile": jit,
        "xla": runs["xla"][0],
        "eager": runs["eager"][0],
        "losses_relative_diff": losses,
        "weights_relative_diff": weights,
        "passed": jit and losses <= bound and weights <= bound,
    }


def check_throughput(setup):
    """Images per second of the student step, the teacher's forward pass and
    the distillation steps the other checks made."""
    import tensorflow as tf

    _, teacher = setup.models()
    # The mean is fetched, so each call waits for the device to finish.
    forward = tf.function(
        lambda x: tf.reduce_mean(teacher(x, training=False)["logits"])
    )
    distillers = {
        "student_step": setup.distiller(teacher=False),
        "distillation_step": setup.timed.get("distillation_step"),
        "distillation_step_xla": setup.timed.get("distillation_step_xla"),
    }
    calls = {
        name: (lambda d=distiller: setup.step(d))
        for name, distiller in distillers.items()
        if distiller is not None  # its check failed before making it
    }
    calls["teacher_forward"] = lambda: float(forward(setup.batch[0]))
    samples, _ = benchmark.time_calls(
        calls, setup.config["repeats"], setup.config["warmup"]
    )
    batch = setup.config["batch_size"]
    return {
        "images_per_s": {n: batch / s["median_s"] for n, s in samples.items()},
        "median_s": {n: s["median_s"] for n, s in samples.items()},
        "passed": len(calls) == 4,
    }


CHECKS = {
    "one_step": check_one_step,
    "mixed_float16": check_mixed_float16,
    "xla": check_xla,
    "throughput": check_throughput,
}


def use_two_cpus_without_gpu():
    """Without a GPU, splits the CPU into two logical devices (for
    `MirroredStrategy`); call it before TensorFlow runs any op.

    Returns:
        The physical GPUs (an empty list on a CPU-only machine).

    Example:

        gpus = use_two_cpus_without_gpu()
        smoke = not gpus  # the CPU runs the config's tiny sizes
    """
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2
        )
    return gpus


def run_checks(config, checks=None):
    """Runs the checks on one `CheckSetup`, printing each result; a check that
    raises is recorded with its error and the others still run.

    Args:
        config: a gpu_check config (see `CheckSetup`).
        checks: dict name -> check function of a `CheckSetup`; default
            `CHECKS`.

    Returns:
        `{"gpus": count, "gpu": device name or None, "settings": config,
        "checks": {name: figures, "passed", "seconds"}, "passed": all passed}`.

    Example:

        result = run_checks(config, {"xla": check_xla})
    """
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    device = tf.config.experimental.get_device_details(gpus[0]) if gpus else {}
    print(f"GPUs: {len(gpus)} {device.get('device_name', '(none: CPU version)')}")
    setup = CheckSetup(config)
    results = {}
    for name, check in (checks or CHECKS).items():
        start = time.perf_counter()
        try:
            result = check(setup)
        except Exception as error:  # recorded; the other checks still run
            result = {"passed": False, "error": f"{type(error).__name__}: {error}"}
        result["seconds"] = time.perf_counter() - start
        results[name] = result
        print(f"{name}: {json.dumps(result)}", flush=True)
    passed = all(result["passed"] for result in results.values())
    print("all checks passed" if passed else "a check FAILED")
    return {
        "gpus": len(gpus),
        "gpu": device.get("device_name"),
        "settings": config,
        "checks": results,
        "passed": passed,
    }
