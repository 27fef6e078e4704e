"""Each distillation term's gradient against the cross-entropy's, on CamVid.

For the campaign's recipes (`benchmarks/camvid/campaign.json`, every row's
terms and weights), on training batches: the cosine of each weighted term's
gradient with CE's and its size relative to CE's, for a student at its
initial weights (or a trained one), plus the teacher's confidence and
accuracy on the training pixels. A logit term whose cosine is ~1 only
repeats the labels (a saturated teacher); one whose relative size is a few
percent barely moves the student.

Usage:
    python scripts/gradient_alignment.py --data_dir ../shared/datasets/camvid \
        --teacher benchmarks/camvid/models/val/teacher.keras \
        [--student model.keras] [--output benchmarks/camvid/gradient_alignment.json]
"""

import json
import os

import benchmark_harness as harness
from absl import app, flags

from keras_pfs.experiments import records

flags.DEFINE_string("data_dir", None, "CamVid folder (train.txt).")
flags.DEFINE_string("teacher", None, "Teacher .keras file.")
flags.DEFINE_string("student", None, "Student .keras file (default: the seed's init).")
flags.DEFINE_string(
    "campaign", os.path.join(harness.ROOT, "benchmarks", "camvid", "campaign.json"), ""
)
flags.DEFINE_integer("batches", 8, "Training batches to average over.")
flags.DEFINE_integer("seed", 0, "Seed of the student's initial weights and batches.")
flags.DEFINE_multi_string("set", [], "Config overrides, e.g. crop_size=(180, 240).")
flags.DEFINE_string("output", None, "Also write the report to this JSON file.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    import keras

    from keras_pfs import Distiller
    from keras_pfs.config import load_config
    from keras_pfs.metrics import gradient_alignment
    from keras_pfs.models import build_segmenter, load_keras_file
    from keras_pfs.training import build_datasets

    with open(FLAGS.campaign) as f:
        campaign = json.load(f)
    terms, weights = {}, {}
    for row in campaign["rows"].values():
        for name, options in row["distillation_losses"].items():
            terms[name] = options
            weights[name] = row["loss_weights"].get(name, 1.0)
    config = load_config(
        os.path.join(harness.ROOT, campaign["config"]),
        [f"data_dir={FLAGS.data_dir!r}", f"seed={FLAGS.seed}", *FLAGS.set],
    )
    keras.utils.set_random_seed(config.seed)
    student = (
        load_keras_file(FLAGS.student)
        if FLAGS.student
        else build_segmenter(
            config.student_preset, config.num_classes, **config.student_options
        )
    )
    distiller = Distiller(
        student=student,
        teacher=load_keras_file(FLAGS.teacher),
        distillation_losses=terms,
        loss_weights=weights,
        ignore_class=config.ignore_class,
    )
    train, _ = build_datasets(config)
    report = {
        "teacher": FLAGS.teacher,
        "student": FLAGS.student or f"{config.student_preset} init, seed {FLAGS.seed}",
        "weights": weights,
        **gradient_alignment(distiller, train, FLAGS.batches),
    }
    print(
        f"teacher: confidence {report['teacher_confidence']:.3f}, "
        f"pixel accuracy {report['teacher_pixel_accuracy']:.3f}"
    )
    print(f"{'term':<10}{'weight':>8}{'cos(g, g_ce)':>14}{'|w g| / |g_ce|':>16}")
    for name, figures in report["terms"].items():
        print(
            f"{name:<10}{weights[name]:8g}{figures['cosine_with_ce']:14.3f}"
            f"{figures['weighted_norm_ratio']:16.3f}"
        )
    if FLAGS.output:
        records.record_json(FLAGS.output, report)


if __name__ == "__main__":
    app.run(main)
