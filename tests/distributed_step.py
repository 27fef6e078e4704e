"""One Distiller step with 1 replica, 2 mirrored replicas or 2 worker processes.

Run as a script; prints a JSON line with the largest weight differences,
which `test_distribute.py` checks.

    python tests/distributed_step.py mirrored      # 2 logical CPU devices
    python tests/distributed_step.py multi_worker  # 2 processes on 127.0.0.1

`multi_worker` starts two copies of this script in `worker` mode, each with
its own TF_CONFIG and free ports picked at start-up, and kills both (their
whole process groups) if either fails or they outlive the time limit.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

MODE = sys.argv[1] if len(sys.argv) > 1 else "mirrored"
if MODE == "mirrored":
    # Must run before any other TensorFlow op in the process.
    tf.config.set_logical_device_configuration(
        tf.config.list_physical_devices("CPU")[0],
        [tf.config.LogicalDeviceConfiguration()] * 2,
    )

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_pfs import Distiller  # noqa: E402
from keras_pfs.distribute import get_strategy  # noqa: E402

NUM_CLASSES = 4
GLOBAL_BATCH = 4
WORKER_TIMEOUT_S = 150


def segmenter(width, name):
    """A three-block convolutional segmenter with BatchNormalization.

    Small on purpose: a mirrored step traces the student once per replica,
    in lock-step at every merge call, and the presets' hundreds of layers
    made that take two minutes; what is checked here (per-image loss
    reduction, synchronized BatchNormalization statistics, the optimizer
    step) does not depend on depth.
    """
    images = keras.Input((None, None, 3))
    x = images / 255.0
    for _ in range(3):
        x = keras.layers.Conv2D(width, 3, strides=2, padding="same")(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.ReLU()(x)
    logits = keras.layers.Conv2D(NUM_CLASSES, 1)(x)
    return keras.Model(images, {"logits": logits, "features": x}, name=name)


def models():
    return segmenter(8, "student"), segmenter(16, "teacher")


def problem():
    """Initial weights and one global batch, the same in every process."""
    keras.utils.set_random_seed(0)
    student, teacher = models()
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (GLOBAL_BATCH, 32, 40, 3)).astype("float32")
    labels = rng.integers(0, NUM_CLASSES, (GLOBAL_BATCH, 32, 40)).astype("int32")
    labels[:, :3] = 255
    labels[3] = 255  # one all-void image: the replicas see unequal pixel counts
    return student.get_weights(), teacher.get_weights(), images, labels


def one_step(strategy, student_weights, teacher_weights, images, labels):
    with strategy.scope():
        student, teacher = models()
        student.set_weights(student_weights)
        teacher.set_weights(teacher_weights)
        distiller = Distiller(student=student, teacher=teacher)
        distiller.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01))
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(GLOBAL_BATCH)
    distiller.fit(dataset, epochs=1, verbose=0)
    return student.get_weights(), teacher.get_weights()


def max_diff(a, b):
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b, strict=True))


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def run_workers(count, workdir):
    """Runs `count` worker processes; returns each one's student weights."""
    workers = [f"127.0.0.1:{port}" for port in free_ports(count)]
    processes = []
    try:
        for index in range(count):
            env = dict(os.environ)
            env["TF_CONFIG"] = json.dumps(
                {
                    "cluster": {"worker": workers},
                    "task": {"type": "worker", "index": index},
                }
            )
            processes.append(
                subprocess.Popen(
                    [sys.executable, __file__, "worker", workdir],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=open(os.path.join(workdir, f"{index}.log"), "w"),  # noqa: SIM115
                    start_new_session=True,  # its own group, killed as a whole
                )
            )
        deadline = time.monotonic() + WORKER_TIMEOUT_S
        while any(p.poll() is None for p in processes):
            failed = [p for p in processes if p.returncode not in (None, 0)]
            if failed or time.monotonic() > deadline:
                raise RuntimeError("a worker failed or timed out")
            time.sleep(0.2)
        if any(p.returncode != 0 for p in processes):
            raise RuntimeError("a worker failed")
    except RuntimeError as error:
        logs = ""
        for index in range(count):
            with open(os.path.join(workdir, f"{index}.log")) as f:
                logs += f"--- worker {index}\n" + f.read()[-2000:]
        raise RuntimeError(f"{error}\n{logs}") from None
    finally:
        for p in processes:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    results = []
    for index in range(count):
        with np.load(os.path.join(workdir, f"{index}.npz")) as saved:
            results.append([saved[f"w{i}"] for i in range(len(saved.files))])
    return results


def worker(workdir):
    strategy = get_strategy("multi_worker")
    index = strategy.cluster_resolver.task_id
    s0, t0, images, labels = problem()
    student, _ = one_step(strategy, s0, t0, images, labels)
    np.savez(
        os.path.join(workdir, f"{index}.npz"),
        **{f"w{i}": w for i, w in enumerate(student)},
    )


def main():
    s0, t0, images, labels = problem()
    devices = [d.name for d in tf.config.list_logical_devices("CPU")]
    single_s, single_t = one_step(
        tf.distribute.OneDeviceStrategy(devices[0]), s0, t0, images, labels
    )
    report = {
        "student_change": max_diff(single_s, s0),
        "teacher_change": max_diff(single_t, t0),
    }
    if MODE == "mirrored":
        strategy = get_strategy("mirrored")
        mirrored_s, mirrored_t = one_step(strategy, s0, t0, images, labels)
        report["replicas"] = strategy.num_replicas_in_sync
        report["student_vs_mirrored"] = max_diff(single_s, mirrored_s)
        report["teacher_change"] = max(
            report["teacher_change"], max_diff(mirrored_t, t0)
        )
    else:
        with tempfile.TemporaryDirectory() as workdir:
            results = run_workers(2, workdir)
        report["replicas"] = len(results)
        report["student_vs_multi_worker"] = max(max_diff(single_s, r) for r in results)
    print(json.dumps(report))


if __name__ == "__main__":
    if MODE == "worker":
        worker(sys.argv[2])
    else:
        main()
