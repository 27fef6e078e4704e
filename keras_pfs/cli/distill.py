"""keras-pfs-distill: trains the student preset from a trained teacher.

Example:
    keras-pfs-distill --config configs/synthetic.py \
        --teacher runs/demo/teacher/model.keras --workdir runs/demo/distilled
"""

import os

from absl import app, flags

from keras_pfs.cli import common
from keras_pfs.cli.fit_run import fit_and_save

flags.DEFINE_string("teacher", None, "Trained teacher (.keras).")


def main(argv):
    del argv
    config = common.config_from_flags()
    teacher = common.FLAGS.teacher
    if not teacher:
        raise ValueError("--teacher is required: the trained teacher's .keras file.")
    if not os.path.isfile(teacher):
        raise ValueError(f"--teacher: model file {teacher} does not exist.")
    workdir = common.prepare_workdir(common.FLAGS.workdir)
    fit_and_save(
        config,
        workdir,
        config.student_preset,
        teacher,
        config.distillation_losses,
        student_options=config.student_options,
    )


def run():
    app.run(main)


if __name__ == "__main__":
    run()
