"""Makes Keras `fit()` work under `tf.distribute.MultiWorkerMirroredStrategy`.

Keras 3 (up to at least 3.15.1) breaks `fit()` under
MultiWorkerMirroredStrategy in two places (keras-team/keras#20585, open):

1. `TensorFlowTrainer._maybe_symbolic_build` reduces the first data batch
   across workers (`strategy.reduce("MEAN", (x, y))`) only to learn shapes;
   that is a cross-worker collective on integer labels before training even
   starts, and fails.
2. `reduce_per_replica` reduces the per-step logs with
   `strategy.reduce("MEAN", v, axis=0)`, which fails for the scalar metric
   values every model logs.

`apply(strategy)` patches both for the Keras versions we support, and only
when `strategy` is a MultiWorkerMirroredStrategy: the build uses the first
local replica's batch (the shapes are all it needs) and scalars are reduced
with `axis=None`. With the patch two worker processes train to the same
weights as one process (tests/distributed_step.py).
"""

import keras
import tensorflow as tf

# Private Keras API, written against Keras 3.15.1: the module whose
# TensorFlowTrainer._maybe_symbolic_build and reduce_per_replica `apply`
# replaces (recorded and checked in tests/test_keras_private.py).
from keras.src.backend.tensorflow import trainer as tf_trainer

# Versions with the bug that the patch was checked against; newer ones are
# left alone so a fixed Keras is not patched blindly.
AFFECTED_VERSIONS = ((3, 10), (3, 15))

_original_reduce_per_replica = tf_trainer.reduce_per_replica


def _version():
    return tuple(int(part) for part in keras.__version__.split(".")[:2])


def _is_multi_worker(strategy):
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def _maybe_symbolic_build(self, iterator=None, data_batch=None):
    # Keras 3.15.1's own, but for the first batch: it reads the trainer's
    # private _distribute_strategy and _symbolic_build as the original does.
    if self._distribute_strategy is None:
        return
    if iterator is not None:
        for _, _, it in iterator:
            data_batch = keras.tree.map_structure(
                lambda x: (
                    self.distribute_strategy.experimental_local_results(x)[0]
                    if isinstance(x, tf.distribute.DistributedValues)
                    else x
                ),
                next(it),
            )
            break
    with self.distribute_strategy.scope():
        self._symbolic_build(data_batch=data_batch)


def _reduce_per_replica(values, strategy, reduction):
    if not _is_multi_worker(strategy) or reduction not in ("auto", "mean"):
        return _original_reduce_per_replica(values, strategy, reduction)

    def reduce(value):
        rank = strategy.experimental_local_results(value)[0].shape.rank
        return strategy.reduce("MEAN", value, axis=0 if rank else None)

    return keras.tree.map_structure(reduce, values)


def apply(strategy):
    """Patches Keras `fit()` for `strategy` if it needs it.

    Idempotent; a no-op unless `strategy` is a MultiWorkerMirroredStrategy
    and the installed Keras is one of `AFFECTED_VERSIONS` (inclusive range).
    See keras-team/keras#20585.

    Args:
        strategy: the `tf.distribute.Strategy` that `fit()` will run under.

    Returns:
        True if the patch is in place after the call.

    Example:

    >>> strategy = tf.distribute.MultiWorkerMirroredStrategy()  # doctest: +SKIP
    >>> apply(strategy)  # doctest: +SKIP
    True
    """
    low, high = AFFECTED_VERSIONS
    if not _is_multi_worker(strategy) or not low <= _version() <= high:
        return False
    tf_trainer.TensorFlowTrainer._maybe_symbolic_build = _maybe_symbolic_build
    tf_trainer.reduce_per_replica = _reduce_per_replica
    return True
