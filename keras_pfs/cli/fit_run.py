"""Training run shared by keras-pfs-train and keras-pfs-distill."""

import json
import os

import keras

from keras_pfs import losses
from keras_pfs.cli import common
from keras_pfs.distiller import Distiller
from keras_pfs.metrics import evaluate_segmenter


def fit_and_save(config, student, teacher, workdir, distillation_losses):
    """Trains `student` (from `teacher` if given) and saves the run.

    Writes `model.keras` (the student, atomically, last), `history.json`,
    `config.json`, `eval.json` (held-out mIoU) and TensorBoard logs.

    Returns:
        The evaluation dict of the held-out split.
    """
    train_ds, val_ds = common.build_datasets(config)
    distiller = Distiller(
        student=student,
        teacher=teacher,
        distillation_losses={
            name: losses.get(name, **kwargs)
            for name, kwargs in distillation_losses.items()
        },
        loss_weights={
            k: v for k, v in config.loss_weights.items() if k in distillation_losses
        },
        ce_weight=config.ce_weight,
        ignore_class=config.ignore_class,
    )
    steps = int(train_ds.cardinality())
    distiller.compile(
        optimizer=common.make_optimizer(config, max(steps, 1)),
        jit_compile=config.jit_compile,
    )
    history = distiller.fit(
        train_ds,
        epochs=config.epochs,
        validation_data=val_ds,
        callbacks=[keras.callbacks.TensorBoard(os.path.join(workdir, "logs"))],
    )
    results = evaluate_segmenter(
        student, val_ds, config.num_classes, config.ignore_class
    )
    results["class_names"] = list(config.class_names)
    common.write_json_atomically(config.to_dict(), os.path.join(workdir, "config.json"))
    common.write_json_atomically(
        {k: [float(x) for x in v] for k, v in history.history.items()},
        os.path.join(workdir, "history.json"),
    )
    common.write_json_atomically(results, os.path.join(workdir, "eval.json"))
    common.save_model_atomically(student, os.path.join(workdir, common.MODEL_FILE))
    print(json.dumps({"workdir": workdir, "miou": results["miou"]}))
    return results
