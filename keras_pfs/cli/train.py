r"""keras-pfs-train: supervised training of a teacher or a baseline student.

Example:
    keras-pfs-train --config configs/synthetic.py --role teacher \
        --workdir runs/demo/teacher
"""

import json

from absl import flags

from keras_pfs import training
from keras_pfs.cli import command, common

flags.DEFINE_enum("role", "teacher", list(training.ROLES), "Which preset to train.")


def main(argv):
    del argv
    results = training.train(
        common.config_from_flags(),
        common.FLAGS.workdir,
        role=common.FLAGS.role,
        overwrite=common.FLAGS.overwrite,
        extend=common.FLAGS.extend,
    )
    print(json.dumps({"workdir": common.FLAGS.workdir, "miou": results["miou"]}))


def run():
    command.run(main)


if __name__ == "__main__":
    run()
