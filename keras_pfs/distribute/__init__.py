"""tf.distribute helpers: choosing a strategy, and Keras fixes it needs."""

from keras_pfs.distribute.strategy import STRATEGIES, get_strategy, worker_index

__all__ = ["STRATEGIES", "get_strategy", "worker_index"]
