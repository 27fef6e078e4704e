"""One complete, resumable training or distillation run."""

import os

import keras
import tensorflow as tf

from keras_pfs import callbacks
from keras_pfs.atomic import save_model_atomically
from keras_pfs.distiller import Distiller
from keras_pfs.distribute import get_strategy, worker_index
from keras_pfs.metrics import evaluate_segmenter
from keras_pfs.models import build_segmenter, load_keras_file, wrap_segmenter
from keras_pfs.training.datasets import build_datasets, check_splits
from keras_pfs.training.optimizer import make_optimizer
from keras_pfs.training.workdir import Workdir

ROLES = ("teacher", "student")
# Config keys that do not change what a run trains: a resumed or extended
# run may set them differently.
_NOT_SET_UP = ("preflight", "peer_wait_seconds")


def _check_batch_size(config, strategy):
    replicas = strategy.num_replicas_in_sync
    if config.batch_size % replicas:
        raise ValueError(
            f"Config key batch_size={config.batch_size} (the global batch) does "
            f"not split evenly over the {replicas} replicas of strategy "
            f"{config.strategy!r}."
        )


class _DropPreviousRun(keras.callbacks.Callback):
    """Deletes the run `--overwrite` set aside once an epoch is backed up."""

    def __init__(self, workdir):
        super().__init__()
        self.workdir = workdir

    def on_epoch_end(self, epoch, logs=None):
        self.workdir.drop_aside()


def _build_distiller(config, train_ds, preset, options, teacher_path, schedule_epochs):
    # The student is built first, straight after seeding, so that runs of
    # one seed start from the same weights with or without a teacher
    # (loading the teacher draws from the global random state).
    student = build_segmenter(preset, config.num_classes, **options)
    teacher = load_keras_file(teacher_path) if teacher_path else None
    if teacher and config.feature_layer:
        student, teacher = (
            wrap_segmenter(model, config.feature_layer, name=model.name)
            for model in (student, teacher)
        )
    distillation_losses = config.distillation_losses if teacher else {}
    distiller = Distiller(
        student=student,
        teacher=teacher,
        distillation_losses=distillation_losses,
        # Weights of losses a supervised run leaves out are not applied
        # (the config checks that every weight names a configured loss).
        loss_weights={
            k: v for k, v in config.loss_weights.items() if k in distillation_losses
        },
        ce_weight=config.ce_weight,
        ignore_class=config.ignore_class,
        distill_pixels=config.distill_pixels,
    )
    distiller.compile(
        optimizer=make_optimizer(
            config, max(int(train_ds.cardinality()), 1), epochs=schedule_epochs
        ),
        jit_compile=config.jit_compile,
    )
    # BackupAndRestore restores into a built model; fit() builds first only
    # under a non-default strategy.
    for images, _ in train_ds.take(1):
        distiller(images[:1])
    return distiller


def run_identity(config, role, teacher_path=None):
    """What a run trains, as recorded for resuming and extending it.

    Args:
        config: the `ExperimentConfig`.
        role: `"teacher"` or `"student"`.
        teacher_path: the teacher's absolute path, or `None`.

    Returns:
        A JSON-able dict: role, preset, teacher and the config without the
        keys that do not change what is trained (`preflight`,
        `peer_wait_seconds`).

    Example:

    >>> run_identity(load_config(None), "teacher")["preset"]  # doctest: +SKIP
    'tiny_resnet'
    """
    return {
        "role": role,
        "preset": getattr(config, f"{role}_preset"),
        "teacher": teacher_path,
        "config": {k: v for k, v in config.to_dict().items() if k not in _NOT_SET_UP},
    }


def train(
    config,
    workdir,
    *,
    role="student",
    teacher_path=None,
    overwrite=False,
    extend=False,
    callbacks=(),
):
    """Trains the config's `role` preset, distilled from a teacher if given.

    Runs under `config.strategy`, with the models built inside its scope,
    under the `config.mixed_precision` dtype policy. Everything is checked
    before anything in `workdir` changes: the config (when loaded), both
    data splits (see `check_splits`), the models, and the directory: a
    finished run is kept unless `overwrite`; an unfinished one (killed
    before it wrote `model.keras`) is resumed from its last epoch if it
    trained the same config, role and teacher, and refused otherwise. A
    lock file keeps a second run out while this one runs. The teacher may
    not be one of the run's own files.

    `extend` continues a run to more epochs (`config.epochs`), nothing else
    changed. An unfinished run resumes from its backup with its cosine
    learning-rate schedule stretched to the new epochs (the rate jumps to
    the stretched curve at the epoch reached); a finished run continues from
    its final student with a fresh optimizer and the schedule restarted: a
    new cosine from `config.learning_rate` to 0 over the added epochs.

    While training it keeps a backup per worker in `workdir/backup/`
    (each epoch); `best.keras`, the student with the best validation mIoU so
    far; `epochs.jsonl`, each epoch's logs; and TensorBoard logs in
    `workdir/logs`. With `overwrite` the previous run waits in
    `workdir/previous_run/` until the first epoch is backed up (and is put
    back if the run fails before that). At the end the chief writes
    `history.json`, `config.json`, `eval.json` (held-out mIoU), `run.json`
    (what it trained, for `extend`) and, last, `model.keras` (the final
    student), each atomically; then the backup is removed.

    Args:
        config: the `ExperimentConfig`.
        workdir: the run's directory; created if needed.
        role: `"teacher"` or `"student"`: which preset (and its
            `<role>_options`) to train.
        teacher_path: the trained teacher's `.keras` file to distil from
            with `config.distillation_losses`; `None` for supervised
            training.
        overwrite: replace a finished run, or restart an unfinished one
            from scratch instead of resuming it.
        extend: continue the finished or unfinished run in `workdir` to
            `config.epochs` epochs (see above).
        callbacks: more Keras callbacks for `fit`, called before the run's
            own (so `on_train_begin` sees the student before a backup is
            restored into it).

    Returns:
        The held-out evaluation (see `keras_pfs.metrics.evaluate_segmenter`)
        with the config's `class_names`.

    Raises:
        ValueError: bad arguments, data, models or work directory, or a
            worker of a multi-worker cluster that does not start in time,
            with a one-line message naming the file, key, shape or worker.

    Example:

    >>> config = load_config("configs/synthetic.py", ["epochs=2"])
    >>> teacher = train(config, "runs/demo/teacher", role="teacher")  # doctest: +SKIP
    >>> train(
    ...     config, "runs/demo/distilled",
    ...     teacher_path="runs/demo/teacher/model.keras",
    ... )["miou"]  # doctest: +SKIP
    """
    if role not in ROLES:
        raise ValueError(f"role={role!r} is unknown; use 'teacher' or 'student'.")
    if teacher_path is not None:
        teacher_path = os.path.abspath(teacher_path)
        if not os.path.isfile(teacher_path):
            raise ValueError(f"Teacher model file {teacher_path} does not exist.")
        Workdir(workdir).check_outside(teacher_path, "Teacher model")
    strategy = get_strategy(config.strategy, peer_wait=config.peer_wait_seconds)
    _check_batch_size(config, strategy)
    worker = worker_index(strategy)
    chief = worker == 0
    run_dir = Workdir(workdir, worker)
    identity = run_identity(config, role, teacher_path)
    with run_dir.lock():
        start = run_dir.check_start(identity, overwrite, extend)
        # An extended finished run restarts its schedule over the new epochs.
        finished_epochs = run_dir.finished_epochs() if start == "extend" else 0
        check_splits(config)
        keras.mixed_precision.set_dtype_policy(config.mixed_precision or "float32")
        keras.utils.set_random_seed(config.seed)
        train_ds, val_ds = build_datasets(config)
        with strategy.scope():
            distiller = _build_distiller(
                config,
                train_ds,
                identity["preset"],
                getattr(config, f"{role}_options"),
                teacher_path,
                schedule_epochs=config.epochs - finished_epochs,
            )
        try:
            # Only now, with everything checked, does the directory change.
            if overwrite:
                if chief:
                    run_dir.set_aside()
                else:
                    run_dir.remove_backup()
            if chief and start != "resume":
                run_dir.record_start(identity)
            results = _fit_and_save(
                config,
                strategy,
                run_dir,
                distiller,
                (train_ds, val_ds),
                identity,
                finished_epochs,
                list(callbacks),
            )
        except BaseException:
            if chief:  # failed before the first epoch: the old run stays
                run_dir.restore_aside()
            raise
    return results


def _fit_and_save(
    config, strategy, run_dir, distiller, datasets, identity, finished_epochs, extra
):
    train_ds, val_ds = datasets
    chief = run_dir.worker == 0
    backup = callbacks.WorkerBackup(run_dir.backup_dir())
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        backup.agree(strategy)
    initial_epoch = 0
    if finished_epochs and not backup.saved_epoch():
        # Extending a finished run: its final student is all that is kept.
        distiller.student.load_weights(run_dir.model_file)
        initial_epoch = finished_epochs
    logs_dir = run_dir.logs_dir
    fit_callbacks = extra + [
        # Before the backup: a kill between the two repeats an epoch (the
        # log keeps its last run) instead of leaving a gap.
        callbacks.EpochLog(run_dir.file(run_dir.EPOCH_LOG), write=chief),
        callbacks.BestStudentCheckpoint(run_dir.best_file, write=chief),
        backup,
        _DropPreviousRun(run_dir),
        keras.callbacks.TensorBoard(
            logs_dir if chief else os.path.join(logs_dir, f"worker_{run_dir.worker}")
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
        train_ds,
        epochs=config.epochs,
        initial_epoch=initial_epoch,
        validation_data=val_ds,
        callbacks=fit_callbacks,
    )
    student = distiller.student
    results = evaluate_segmenter(
        student, val_ds, config.num_classes, config.ignore_class
    )
    results["class_names"] = list(config.class_names)
    if chief:
        history = callbacks.read_epoch_log(run_dir.file(run_dir.EPOCH_LOG))
        run_dir.write(run_dir.CONFIG, config.to_dict())
        run_dir.write(run_dir.HISTORY, history)
        run_dir.write(run_dir.EVAL, results)
        run_dir.record_finish(identity)
        save_model_atomically(student, run_dir.model_file)
    run_dir.drop_aside()  # a resumed run with no epoch left to train
    run_dir.remove_backup()
    return results
