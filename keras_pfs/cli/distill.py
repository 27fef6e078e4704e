r"""keras-pfs-distill: trains the student preset from a trained teacher.

Example:
    keras-pfs-distill --config configs/synthetic.py \
        --teacher runs/demo/teacher/model.keras --workdir runs/demo/distilled
"""

import json

from absl import flags

from keras_pfs import training
from keras_pfs.cli import command, common

flags.DEFINE_string("teacher", None, "Trained teacher (.keras).")


def main(argv):
    del argv
    if not common.FLAGS.teacher:
        raise ValueError("--teacher is required: the trained teacher's .keras file.")
    results = training.train(
        common.config_from_flags(),
        common.FLAGS.workdir,
        role="student",
        teacher_path=common.FLAGS.teacher,
        overwrite=common.FLAGS.overwrite,
        extend=common.FLAGS.extend,
    )
    print(json.dumps({"workdir": common.FLAGS.workdir, "miou": results["miou"]}))


def run():
    command.run(main)


if __name__ == "__main__":
    run()
