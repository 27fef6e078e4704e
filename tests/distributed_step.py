"""One Distiller step with 1 replica and with 2 mirrored replicas.

Run as a script (the logical devices must be configured before any other
TensorFlow op in the process). Prints a JSON line with the largest weight
differences; `test_distiller.py` runs it in a subprocess.
"""

import json
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import tensorflow as tf  # noqa: E402

_cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    _cpu, [tf.config.LogicalDeviceConfiguration()] * 2
)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_pfs import Distiller  # noqa: E402
from keras_pfs.models import build_segmenter  # noqa: E402

NUM_CLASSES = 4
GLOBAL_BATCH = 4


def one_step(strategy, student_weights, teacher_weights, images, labels):
    with strategy.scope():
        student = build_segmenter("tiny_mobile", NUM_CLASSES)
        teacher = build_segmenter("tiny_resnet", NUM_CLASSES)
        student.set_weights(student_weights)
        teacher.set_weights(teacher_weights)
        distiller = Distiller(student=student, teacher=teacher)
        distiller.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01))
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(GLOBAL_BATCH)
    distiller.fit(dataset, epochs=1, verbose=0)
    return student.get_weights(), teacher.get_weights()


def main():
    keras.utils.set_random_seed(0)
    student = build_segmenter("tiny_mobile", NUM_CLASSES)
    teacher = build_segmenter("tiny_resnet", NUM_CLASSES)
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (GLOBAL_BATCH, 32, 40, 3)).astype("float32")
    labels = rng.integers(0, NUM_CLASSES, (GLOBAL_BATCH, 32, 40)).astype("int32")
    labels[:, :3] = 255
    labels[3] = 255  # one all-void image: the replicas see unequal pixel counts
    s0, t0 = student.get_weights(), teacher.get_weights()
    devices = [d.name for d in tf.config.list_logical_devices("CPU")]
    single_s, single_t = one_step(
        tf.distribute.OneDeviceStrategy(devices[0]), s0, t0, images, labels
    )
    mirrored_s, mirrored_t = one_step(
        # See Distiller(synchronized_batch_norm=...) for why not collectives.
        tf.distribute.MirroredStrategy(
            devices, cross_device_ops=tf.distribute.ReductionToOneDevice()
        ),
        s0,
        t0,
        images,
        labels,
    )

    def max_diff(a, b):
        return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b, strict=True))

    print(
        json.dumps(
            {
                "replicas": len(devices),
                "student_vs_mirrored": max_diff(single_s, mirrored_s),
                "student_change": max_diff(single_s, s0),
                "teacher_change": max(max_diff(single_t, t0), max_diff(mirrored_t, t0)),
            }
        )
    )


if __name__ == "__main__":
    main()
