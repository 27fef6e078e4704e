"""Times our Distiller's training step against keras.distillation.Distiller's.

Both train the same student from the same teacher on the same batch with the
same pixel-KD loss (ours through `keras_pfs.interop.KerasDistillationLoss` in
the stock Distiller) and no label loss (`ce_weight=0`,
`student_loss_weight=0`), so they do the same arithmetic. The stock Distiller
requires teacher and student outputs of one shape, so both are `tiny_mobile`
models (the teacher with its own weights). Each step is the Distiller's
`train_function` (what `fit()` runs) fed from a dataset repeating the batch;
the two alternate, one step each per round, and medians are taken over the
rounds after warm-up.

Usage:

    .venv/bin/python scripts/benchmark_keras_distillation.py \
        --output_json=benchmarks/keras_distillation.json
"""

import json
import platform
import sys

import keras
from absl import app, flags

from keras_pfs import Distiller
from keras_pfs.data import synthetic_dataset
from keras_pfs.experiments import benchmark
from keras_pfs.interop import KerasDistillationLoss
from keras_pfs.models import build_segmenter

flags.DEFINE_integer("image_size", 64, "Square image side.")
flags.DEFINE_integer("batch_size", 8, "Images per step.")
flags.DEFINE_integer("rounds", 20, "Timed rounds (after 3 warm-up rounds).")
flags.DEFINE_string("output_json", None, "Write the results here.")
FLAGS = flags.FLAGS
NUM_CLASSES = 5


def main(argv):
    del argv
    keras.utils.set_random_seed(0)
    teacher = build_segmenter("tiny_mobile", NUM_CLASSES)
    student = build_segmenter("tiny_mobile", NUM_CLASSES)
    stock_student = keras.models.clone_model(student)
    stock_student.set_weights(student.get_weights())
    batch = next(
        iter(
            synthetic_dataset(
                "train",
                num_images=FLAGS.batch_size,
                image_size=(FLAGS.image_size,) * 2,
                num_classes=NUM_CLASSES,
                batch_size=FLAGS.batch_size,
            )
        )
    )

    ours = Distiller(student, teacher, distillation_losses=["kd"], ce_weight=0.0)
    ours.compile(optimizer="sgd")
    stock = keras.distillation.Distiller(
        teacher=teacher,
        student=stock_student,
        distillation_losses=[KerasDistillationLoss("kd")],
        student_loss_weight=0.0,
    )
    stock.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    step = benchmark.train_step
    steps = {"ours": step(ours, batch), "stock": step(stock, batch)}
    # Two calls alternating: each round runs them in the other order.
    samples, _ = benchmark.time_calls(steps, FLAGS.rounds, warmup=3)
    medians = {name: sample["median_s"] for name, sample in samples.items()}
    results = {
        "command": " ".join(["scripts/benchmark_keras_distillation.py", *sys.argv[1:]]),
        "models": "tiny_mobile teacher and student",
        "loss": "pixel KD (kd), T=1, no label loss",
        "image_size": FLAGS.image_size,
        "batch_size": FLAGS.batch_size,
        "rounds": FLAGS.rounds,
        "median_step_seconds": medians,
        "ours_over_stock": medians["ours"] / medians["stock"],
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}",
        "keras": keras.__version__,
    }
    print(json.dumps(results, indent=2))
    if FLAGS.output_json:
        with open(FLAGS.output_json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    app.run(main)
