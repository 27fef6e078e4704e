"""The optimizer of a training run."""

import keras


def make_optimizer(config, steps_per_epoch):
    """AdamW with a cosine decay from `config.learning_rate` to 0.

    Args:
        config: an `ExperimentConfig` (`learning_rate`, `weight_decay`,
            `epochs`).
        steps_per_epoch: training steps per epoch.

    Returns:
        A `keras.optimizers.AdamW`.

    Example:

    >>> make_optimizer(ExperimentConfig(epochs=2), 10)  # doctest: +SKIP
    """
    schedule = keras.optimizers.schedules.CosineDecay(
        config.learning_rate, decay_steps=max(1, config.epochs * steps_per_epoch)
    )
    return keras.optimizers.AdamW(schedule, weight_decay=config.weight_decay)
