"""The optimizer of a training run."""

import keras


def make_optimizer(config, steps_per_epoch, epochs=None):
    """AdamW with a cosine decay from `config.learning_rate` to 0.

    Args:
        config: an `ExperimentConfig` (`learning_rate`, `weight_decay`,
            `epochs`).
        steps_per_epoch: training steps per epoch.
        epochs: epochs the decay spans; default `config.epochs` (fewer when
            a finished run is extended: the schedule restarts over the
            added epochs).

    Returns:
        A `keras.optimizers.AdamW`.

    Example:

    >>> make_optimizer(ExperimentConfig(epochs=2), 10)  # doctest: +SKIP
    """
    epochs = config.epochs if epochs is None else epochs
    schedule = keras.optimizers.schedules.CosineDecay(
        config.learning_rate, decay_steps=max(1, epochs * steps_per_epoch)
    )
    return keras.optimizers.AdamW(schedule, weight_decay=config.weight_decay)
