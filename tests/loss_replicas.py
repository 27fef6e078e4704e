"""Every registered loss's gradients with 1 and with 2 mirrored replicas.

Run as `python -m tests.loss_replicas` from the repository root (2 logical
CPU devices must be made before any TensorFlow op, so not inside the pytest
process); prints one JSON line
`{name: [max |g_2 - g_1|, max |g_1|]}`, which `test_every_loss.py` checks.

The student's outputs are the standard inputs scaled per channel by two
variables; the objective is `tf.nn.compute_average_loss` of the per-image
values over the global batch, as in the `Distiller`. With the global batch
split over two replicas and the gradients summed, a loss that is truly per
image gives the single-device gradients; one that normalises over its batch
(e.g. by the batch's valid pixel count) does not.
"""

import json
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0],
    [tf.config.LogicalDeviceConfiguration()] * 2,
)

import numpy as np  # noqa: E402

from keras_pfs import losses  # noqa: E402
from keras_pfs.distribute import get_strategy  # noqa: E402
from tests.loss_checks import distillation_inputs  # noqa: E402
from tests.references import LOSS_REFERENCES  # noqa: E402

GLOBAL_BATCH = 4


def shard(inputs, index, num_shards):
    size = GLOBAL_BATCH // num_shards
    return tf.nest.map_structure(
        lambda x: tf.constant(x[index * size : (index + 1) * size]), inputs
    )


def gradients(loss, inputs, scales):
    """Gradients of the per-image loss of `inputs` with respect to `scales`,
    from `compute_average_loss` over the global batch."""
    teacher, student, labels, mask = inputs
    with tf.GradientTape() as tape:
        scaled = {key: student[key] * scales[key] for key in student}
        per_image = loss.compute_loss(teacher, scaled, labels, mask)
        objective = tf.nn.compute_average_loss(
            per_image, global_batch_size=GLOBAL_BATCH
        )
    return tape.gradient(
        objective,
        list(scales.values()),
        unconnected_gradients=tf.UnconnectedGradients.ZERO,
    )


def two_replica_gradients(strategy, loss, inputs, scales):
    """`gradients` on each replica's half of the batch, summed over replicas."""
    with strategy.scope():
        variables = {key: tf.Variable(value) for key, value in scales.items()}
    shards = strategy.experimental_distribute_values_from_function(
        lambda context: shard(inputs, context.replica_id_in_sync_group, 2)
    )
    per_replica = strategy.run(lambda x: gradients(loss, x, variables), args=(shards,))
    return [strategy.reduce("SUM", g, axis=None) for g in per_replica]


def main():
    assert len(tf.config.list_logical_devices("CPU")) == 2
    inputs = distillation_inputs(np.random.default_rng(0), batch=GLOBAL_BATCH)
    rng = np.random.default_rng(1)
    scales = {
        key: rng.uniform(0.5, 1.5, size=value.shape[-1])
        for key, value in inputs[1].items()
    }
    strategy = get_strategy("mirrored")
    report = {}
    for name in losses.names():
        kwargs = LOSS_REFERENCES[name][0]
        loss = losses.get(name, **kwargs)
        variables = {key: tf.Variable(value) for key, value in scales.items()}
        one = gradients(loss, shard(inputs, 0, 1), variables)
        two = two_replica_gradients(strategy, loss, inputs, scales)
        report[name] = [
            max(float(np.abs(a - b).max()) for a, b in zip(one, two, strict=True)),
            max(float(np.abs(a).max()) for a in one),
        ]
    print(json.dumps(report))


if __name__ == "__main__":
    main()
