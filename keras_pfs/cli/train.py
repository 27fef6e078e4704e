"""keras-pfs-train: supervised training of a teacher or a baseline student.

Example:
    keras-pfs-train --config configs/synthetic.py --role teacher \
        --workdir runs/demo/teacher
"""

from absl import app, flags

from keras_pfs.cli import common
from keras_pfs.cli.fit_run import fit_and_save

flags.DEFINE_enum("role", "teacher", ["teacher", "student"], "Which preset.")


def main(argv):
    del argv
    config = common.config_from_flags()
    workdir = common.prepare_workdir(common.FLAGS.workdir)
    role = common.FLAGS.role
    fit_and_save(
        config,
        workdir,
        getattr(config, f"{role}_preset"),
        None,
        distillation_losses={},
        student_options=getattr(config, f"{role}_options"),
    )


def run():
    app.run(main)


if __name__ == "__main__":
    run()
