"""Picks the `tf.distribute.Strategy` a training run uses (`--strategy`)."""

import json
import os
import signal
import threading

import tensorflow as tf

from keras_pfs.distribute import multi_worker_compat
from keras_pfs.distribute.peers import wait_for_peers

STRATEGIES = ("auto", "mirrored", "multi_worker", "tpu", "none")


def _mirrored():
    if tf.config.list_logical_devices("GPU"):
        return tf.distribute.MirroredStrategy()
    cpus = [device.name for device in tf.config.list_logical_devices("CPU")]
    # TF's default collective all-reduce can order the synchronised BatchNorm
    # and the gradient all-reduces differently on different CPU replicas and
    # abort ("Shape mismatch in the collective instance"); reducing on one
    # device has no such ordering problem.
    return tf.distribute.MirroredStrategy(
        cpus, cross_device_ops=tf.distribute.ReductionToOneDevice()
    )


def _multi_worker(peer_wait):
    if "TF_CONFIG" in os.environ:
        try:
            json.loads(os.environ["TF_CONFIG"])
        except ValueError as error:
            raise ValueError(
                f"--strategy=multi_worker: TF_CONFIG is not valid JSON ({error})."
            ) from None
    wait_for_peers(peer_wait)
    handler = signal.getsignal(signal.SIGTERM)
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    # TF's coordination agent installs its own SIGTERM handler, which only
    # notes a preemption: a worker told to stop would train on. Restore ours.
    if handler is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)
    multi_worker_compat.apply(strategy)
    return strategy


def _tpu():
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, tf.errors.OpError) as error:
        message = str(error).splitlines()[0]
        raise ValueError(f"--strategy=tpu: no TPU found ({message}).") from None
    return tf.distribute.TPUStrategy(resolver)


def get_strategy(name="auto", peer_wait=600.0):
    """The `tf.distribute.Strategy` called `name`.

    Build models, the Distiller and its optimizer inside `strategy.scope()`
    and batch the data with the GLOBAL batch size: each replica gets
    `batch_size / num_replicas_in_sync` images per step.

    Args:
        name: `"auto"` (MirroredStrategy over all GPUs when more than one is
            visible, else the default strategy), `"mirrored"`
            (MirroredStrategy over all GPUs; without GPUs over all logical
            CPU devices, reduced on one device), `"multi_worker"`
            (MultiWorkerMirroredStrategy; the cluster comes from `TF_CONFIG`,
            and Keras `fit()` is patched for it, see
            `keras_pfs.distribute.multi_worker_compat`), `"tpu"`
            (TPUStrategy) or `"none"` (the default strategy: one device).
        peer_wait: for `"multi_worker"`, seconds to wait for the other
            workers of `TF_CONFIG` to start (see
            `keras_pfs.distribute.peers.wait_for_peers`).

    Returns:
        A `tf.distribute.Strategy`.

    Raises:
        ValueError: an unknown name, bad `TF_CONFIG`, a worker that does not
            start within `peer_wait`, or no TPU.

    Example:

    >>> strategy = get_strategy("none")
    >>> strategy.num_replicas_in_sync
    1
    """
    if name == "auto":
        if len(tf.config.list_logical_devices("GPU")) > 1:
            return tf.distribute.MirroredStrategy()
        return tf.distribute.get_strategy()
    if name == "none":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return _mirrored()
    if name == "multi_worker":
        return _multi_worker(peer_wait)
    if name == "tpu":
        return _tpu()
    raise ValueError(
        f"Strategy {name!r} (--strategy, config key strategy) is unknown; "
        f"use one of {', '.join(STRATEGIES)}."
    )


def worker_index(strategy):
    """This process's task index in a multi-worker cluster; 0 otherwise.

    Args:
        strategy: a `tf.distribute.Strategy`.

    Returns:
        An int.

    Example:

    >>> worker_index(get_strategy("none"))
    0
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    task_id = getattr(resolver, "task_id", None)
    return int(task_id or 0)
