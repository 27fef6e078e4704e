"""keras-pfs-distill: trains the student preset from a trained teacher.

Example:
    keras-pfs-distill --config configs/synthetic.py \
        --teacher runs/demo/teacher/model.keras --workdir runs/demo/distilled
"""

import keras
from absl import app, flags

from keras_pfs.cli import common
from keras_pfs.cli.fit_run import fit_and_save
from keras_pfs.models import build_segmenter

flags.DEFINE_string("teacher", None, "Trained teacher (.keras).")


def main(argv):
    del argv
    config = common.config_from_flags()
    if not common.FLAGS.teacher:
        raise ValueError("--teacher is required: the trained teacher's .keras file.")
    teacher = common.load_model(common.FLAGS.teacher)
    workdir = common.prepare_workdir(common.FLAGS.workdir)
    keras.utils.set_random_seed(config.seed)
    student = build_segmenter(config.student_preset, config.num_classes)
    fit_and_save(config, student, teacher, workdir, config.distillation_losses)


def run():
    app.run(main)


if __name__ == "__main__":
    run()
