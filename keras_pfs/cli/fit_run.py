"""Training run shared by keras-pfs-train and keras-pfs-distill."""

import contextlib
import json
import os
import shutil

import keras
import tensorflow as tf

from keras_pfs import callbacks, losses
from keras_pfs.callbacks import save_model_atomically, write_json_atomically
from keras_pfs.cli import common
from keras_pfs.distiller import Distiller
from keras_pfs.distribute import get_strategy, worker_index
from keras_pfs.metrics import evaluate_segmenter
from keras_pfs.models import build_segmenter


def _check_batch_size(config, strategy):
    replicas = strategy.num_replicas_in_sync
    if config.batch_size % replicas:
        raise ValueError(
            f"Config key batch_size={config.batch_size} (the global batch) does "
            f"not split evenly over the {replicas} replicas of strategy "
            f"{config.strategy!r}."
        )


def fit_and_save(
    config,
    workdir,
    student_preset,
    teacher_path,
    distillation_losses,
    student_options=None,
):
    """Trains a `student_preset` model (from the teacher if given) and saves it.

    Everything runs under `config.strategy`, with the models built inside
    its scope, under the `config.mixed_precision` dtype policy. While
    training it keeps a backup per worker in `workdir/backup/worker_<i>`
    (each epoch), so the same command started again after a kill continues
    from the last finished epoch; `best.keras`, the student with the best
    validation mIoU so far; `epochs.jsonl`, each epoch's logs; and
    TensorBoard logs of every loss term, mIoU, per-class IoU and
    prediction panels in `workdir/logs`. At the
    end the chief writes `history.json`, `config.json`, `eval.json`
    (held-out mIoU) and, last, `model.keras` (the final student); then the
    backup is removed.

    Args:
        config: the `ExperimentConfig`.
        workdir: the run's directory (see `common.prepare_workdir`).
        student_preset: `keras_pfs.models` preset of the model to train.
        teacher_path: the trained teacher's `.keras` file, or `None` for
            supervised training.
        distillation_losses: `{registry name: constructor kwargs}`.
        student_options: keyword overrides of the preset's head.

    Returns:
        The evaluation dict of the held-out split.

    Example:

    >>> fit_and_save(
    ...     config, "runs/demo/teacher", "tiny_resnet", None, {}
    ... )  # doctest: +SKIP
    """
    strategy = get_strategy(config.strategy)
    _check_batch_size(config, strategy)
    worker = worker_index(strategy)
    chief = worker == 0
    keras.mixed_precision.set_dtype_policy(config.mixed_precision or "float32")
    keras.utils.set_random_seed(config.seed)
    train_ds, val_ds = common.build_datasets(config)
    steps = int(train_ds.cardinality())
    with strategy.scope():
        # The student is built first, straight after seeding, so that runs of
        # one seed start from the same weights with or without a teacher
        # (loading the teacher draws from the global random state).
        student = build_segmenter(
            student_preset, config.num_classes, **(student_options or {})
        )
        teacher = common.load_model(teacher_path) if teacher_path else None
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
        distiller.compile(
            optimizer=common.make_optimizer(config, max(steps, 1)),
            jit_compile=config.jit_compile,
        )
        # BackupAndRestore restores into a built model; fit() builds first
        # only under a non-default strategy.
        for images, _ in train_ds.take(1):
            distiller(images[:1])
    backup = callbacks.WorkerBackup(common.backup_dir(workdir, worker))
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        backup.agree(strategy)
    logs_dir = os.path.join(workdir, "logs")
    fit_callbacks = [
        # Before the backup: a kill between the two repeats an epoch (the
        # log keeps its last run) instead of leaving a gap.
        callbacks.EpochLog(os.path.join(workdir, common.EPOCH_LOG), write=chief),
        callbacks.BestStudentCheckpoint(
            os.path.join(workdir, common.BEST_FILE), write=chief
        ),
        backup,
        keras.callbacks.TensorBoard(
            logs_dir if chief else os.path.join(logs_dir, f"worker_{worker}")
        ),
        callbacks.SegmentationSummaries(
            logs_dir,
            val_ds,
            config.class_names,
            config.ignore_class,
            config.palette,
            write=chief,
        ),
    ]
    distiller.fit(
        train_ds, epochs=config.epochs, validation_data=val_ds, callbacks=fit_callbacks
    )
    results = evaluate_segmenter(
        student, val_ds, config.num_classes, config.ignore_class
    )
    results["class_names"] = list(config.class_names)
    if chief:
        history = callbacks.read_epoch_log(os.path.join(workdir, common.EPOCH_LOG))
        write_json_atomically(config.to_dict(), os.path.join(workdir, "config.json"))
        write_json_atomically(history, os.path.join(workdir, "history.json"))
        write_json_atomically(results, os.path.join(workdir, "eval.json"))
        save_model_atomically(student, os.path.join(workdir, common.MODEL_FILE))
    shutil.rmtree(backup.backup_dir, ignore_errors=True)
    with contextlib.suppress(OSError):  # other workers' backups remain
        os.rmdir(os.path.dirname(backup.backup_dir))
    print(json.dumps({"workdir": workdir, "miou": results["miou"]}))
    return results
