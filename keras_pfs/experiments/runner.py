"""Runs a comparison's cells: one (fold, row, seed) each, resumable.

A cell trains through `keras_pfs.training.train` in its own work directory
(`<work_dir>/<fold>/<row>/seed<k>`), which resumes a cut-off run from its
last epoch, and writes its result file (`<output>/cells/<fold>/<row>/
seed<k>.json`: config, commit, final and best-epoch mIoU, per-class IoU,
learning curve, wall time, a fingerprint of the initial student). Cells on
file are never run again, so a comparison spans sessions; the tables are
rebuilt from the cell files alone.
"""

import hashlib
import json
import os
import shutil
import time

import keras
import numpy as np

from keras_pfs import training
from keras_pfs.config import load_config
from keras_pfs.experiments import comparison as comparison_lib
from keras_pfs.experiments.comparison import cell_path, model_file, variant_name
from keras_pfs.experiments.records import command, git_commit, record_json
from keras_pfs.experiments.table import write_tables
from keras_pfs.run_directory import RunDirectory

TEACHER = comparison_lib.TEACHER


class InitialStudent(keras.callbacks.Callback):
    """Records a fingerprint of the student's weights as training begins.

    Passed first to `training.train`, it sees the seeded initial weights
    before a backup is restored, so the cells of one seed can be checked to
    start from the same student.
    """

    def __init__(self):
        super().__init__()
        self.sha256 = None

    def on_train_begin(self, logs=None):
        digest = hashlib.sha256()
        for weight in self.model.student.weights:
            digest.update(np.asarray(keras.ops.convert_to_numpy(weight)).tobytes())
        self.sha256 = digest.hexdigest()


class ComparisonRun:
    """Runs the missing cells of a loaded comparison and rebuilds its tables.

    Args:
        comparison: `load_comparison(path)`.
        output_dir: where `cells/`, `models/` and the tables go.
        work_dir: where the cells' work directories (and built fold lists)
            go; default `<output_dir>/work`.
        overrides: `"key=value"` config overrides for every cell, the
            teacher's included (e.g. `data_dir=...`).
        log: called with each progress line.

    Example:

    >>> run = ComparisonRun(load_comparison("compare.json"), "runs/compare")
    >>> run.run(seeds=[0, 1])  # doctest: +SKIP
    """

    def __init__(self, comparison, output_dir, work_dir=None, overrides=(), log=print):
        self.comparison = comparison
        self.output_dir = output_dir
        self.work_dir = work_dir or os.path.join(output_dir, "work")
        self.overrides = list(overrides)
        self.log = log
        base = load_config(comparison["config"], self.overrides, comparison["set"])
        self.data_dir = base.data_dir

    def _root(self, key):
        if key in self.comparison:
            return self.comparison[key]
        return os.path.join(self.output_dir, "models")

    def teacher_path(self, fold):
        """The fold's teacher: `teacher.model`, else the kept trained one."""
        given = self.comparison.get(TEACHER, {}).get("model")
        if given:
            return given.format(fold=fold)
        return model_file(self._root("teacher_dir"), fold, TEACHER, 0)

    def cells(self, folds=None, rows=None, sweep=None, seeds=None):
        """Every cell asked for: `(fold, name, recipe, seed, config)`.

        Builds (and so validates) every cell's config before any runs. The
        fold's teacher comes first where a distilled row needs it and it is
        neither given nor kept yet.

        Raises:
            ValueError: an unknown fold, row or sweep, or a cell's config
                error, naming the cell.
        """
        comparison = self.comparison
        folds = folds or list(comparison["folds"])
        for fold in folds:
            if fold not in comparison["folds"]:
                raise ValueError(
                    f"Fold {fold!r} is not in {list(comparison['folds'])}."
                )
        if sweep:
            if sweep not in comparison["sweeps"]:
                raise ValueError(
                    f"Sweep {sweep!r} is not in {list(comparison['sweeps'])}."
                )
            spec = comparison["sweeps"][sweep]
            seeds = seeds or spec.get("seeds", comparison["seeds"])
            named = [
                (variant_name(v), comparison_lib.recipe_of(comparison, v["row"], v))
                for v in spec["variants"]
            ]
        else:
            seeds = seeds or comparison["seeds"]
            names = rows or list(comparison["rows"])
            unknown = sorted(set(names) - {TEACHER, *comparison["rows"]})
            if unknown:
                raise ValueError(f"Unknown row {unknown[0]!r}.")
            named = [(n, comparison_lib.recipe_of(comparison, n)) for n in names]
        out = []
        for fold in folds:
            splits = comparison_lib.fold_splits(
                fold,
                comparison["folds"][fold],
                self.data_dir,
                os.path.join(self.work_dir, "folds"),
            )
            fold_cells = [
                (name, recipe, seed)
                for name, recipe in named
                for seed in ([0] if name == TEACHER else seeds)
            ]
            built = [
                (
                    fold,
                    name,
                    recipe,
                    seed,
                    self._config(fold, name, recipe, seed, splits),
                )
                for name, recipe, seed in fold_cells
            ]
            # A teacher this comparison trained is checked like any cell.
            trained = os.path.isfile(cell_path(self.output_dir, fold, TEACHER, 0))
            if (
                any(_distilled(recipe, config) for *_, recipe, _, config in built)
                and TEACHER not in [name for name, _ in named]
                and (trained or not os.path.isfile(self.teacher_path(fold)))
            ):
                if "set" not in comparison.get(TEACHER, {}):
                    raise ValueError(
                        f"Fold {fold}: no teacher at {self.teacher_path(fold)}, and "
                        "the comparison has no teacher.set to train one."
                    )
                recipe = comparison_lib.recipe_of(comparison, TEACHER)
                config = self._config(fold, TEACHER, recipe, 0, splits)
                built.insert(0, (fold, TEACHER, recipe, 0, config))
            out += built
        return out

    def _config(self, fold, name, recipe, seed, splits):
        try:
            return comparison_lib.cell_config(
                self.comparison, recipe, splits, seed, self.overrides
            )
        except ValueError as error:
            raise ValueError(f"Cell {fold}/{name}/seed{seed}: {error}") from None

    def run(self, folds=None, rows=None, sweep=None, seeds=None):
        """Runs the missing cells asked for, then rebuilds the tables.

        Returns:
            `{(fold, name, seed): cell record}` of the cells asked for.
        """
        cells = self.cells(folds, rows, sweep, seeds)
        paths = [
            cell_path(self.output_dir, fold, name, seed)
            for fold, name, _, seed, _ in cells
        ]
        todo = sum(not os.path.isfile(path) for path in paths)
        self.log(f"{len(cells)} cells, {len(cells) - todo} on file, {todo} to run.")
        records, index = {}, 0
        for (fold, name, recipe, seed, config), path in zip(cells, paths, strict=True):
            if os.path.isfile(path):
                with open(path) as f:
                    records[fold, name, seed] = json.load(f)
                check_same_config(records[fold, name, seed]["config"], config, path)
                continue
            index += 1
            self.log(f"[{index}/{todo}] cell {fold}/{name}/seed{seed}")
            records[fold, name, seed] = self.run_cell(fold, name, recipe, seed, config)
        write_tables(self.comparison, self.output_dir)
        return records

    def run_cell(self, fold, name, recipe, seed, config):
        """Trains (or resumes, or records a finished) cell; returns its record."""
        teacher = None
        if _distilled(recipe, config):
            teacher = self.teacher_path(fold)
            if not os.path.isfile(teacher):
                raise ValueError(
                    f"Cell {fold}/{name}: run the fold's teacher first ({teacher})."
                )
        run_dir = RunDirectory(os.path.join(self.work_dir, fold, name, f"seed{seed}"))
        fingerprint = InitialStudent()
        seconds = None
        if run_dir.is_finished():
            _check_finished(run_dir, config)
        else:
            keras.backend.clear_session()  # earlier cells' graphs and memory
            start = time.time()
            training.train(
                config,
                run_dir.path,
                role=recipe["role"],
                teacher_path=teacher,
                callbacks=[fingerprint],
            )
            seconds = time.time() - start
        cell = self._record(run_dir, fold, name, recipe, seed, seconds)
        cell["initial_student_sha256"] = fingerprint.sha256
        kept = name == TEACHER or name in self.comparison["commit_models"].get(fold, [])
        if kept:
            root = self._root("teacher_dir" if name == TEACHER else "models_dir")
            model = model_file(root, fold, name, seed)
            os.makedirs(os.path.dirname(model), exist_ok=True)
            if not os.path.isfile(model):  # kept models are never replaced
                shutil.copyfile(run_dir.model_file, model)
            cell["model"] = os.path.relpath(model)
        return record_json(cell_path(self.output_dir, fold, name, seed), cell)

    def _record(self, run_dir, fold, name, recipe, seed, seconds):
        history = run_dir.read_history()
        curve = [
            {k: history[k][i] for k in history if k != "epoch"}
            for i in range(len(history["val_mean_iou"]))
        ]
        best = max(range(len(curve)), key=lambda i: curve[i]["val_mean_iou"])
        final = run_dir.read_eval()
        return {
            "fold": fold,
            "row": name,
            "seed": seed,
            "recipe": recipe,
            "config": run_dir.read_config(),
            "commit": git_commit(),
            "command": command(),
            "miou": final["miou"],
            "per_class_iou": final["per_class_iou"],
            "class_names": final["class_names"],
            "best_epoch": best + 1,
            "best_miou": curve[best]["val_mean_iou"],
            "curve": curve,
            "seconds": seconds,
        }


def _distilled(recipe, config):
    return recipe["role"] != TEACHER and bool(config.distillation_losses)


def _check_finished(run_dir, config):
    """Refuses a finished work directory whose run trained another config.

    A row whose recipe changed (e.g. a sweep winner taking over the row)
    must not adopt the old recipe's finished run as its own.
    """
    check_same_config(run_dir.read_config(), config, run_dir.path)


# Where the data lies on the machine that ran a cell, and settings that do
# not change what is trained: not compared.
_NOT_COMPARED = (
    "data_dir",
    "train_split",
    "val_split",
    "preflight",
    "peer_wait_seconds",
)


def check_same_config(saved, config, where):
    """Refuses a cell (or finished run) of another config than `config`.

    Keys the saved config lacks (added to `ExperimentConfig` after it ran,
    so it ran with their defaults) and the keys of `_NOT_COMPARED` are not
    compared.

    Args:
        saved: the config dict the cell or run recorded.
        config: the `ExperimentConfig` the comparison builds for it now.
        where: the cell file or work directory, named in the error.

    Raises:
        ValueError: naming `where` and the first key that differs.
    """
    for key, value in json.loads(json.dumps(config.to_dict())).items():
        if key in saved and key not in _NOT_COMPARED and saved[key] != value:
            raise ValueError(
                f"{where} was run with {key}={saved[key]!r}, not {value!r} as the "
                "comparison now sets: use another --output_dir (and --work_dir), "
                "or move it aside to rerun it."
            )
