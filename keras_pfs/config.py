"""Experiment configuration: one dataclass, Python files under `configs/`.

A config file defines `CONFIG`, a dict of fields of `ExperimentConfig` that
differ from the defaults; the command line overrides single fields with
`--set key=value` (values parsed as Python literals).
"""

import ast
import dataclasses
import importlib.util
import json
import os
import traceback

MIXED_PRECISION_POLICIES = (None, "mixed_float16", "mixed_bfloat16")

# The paper's method, PFS plus knowledge-gap weighted imitation, with its
# loss weights: the default of `ExperimentConfig` and of `Distiller`, which
# gives these weights to these losses whenever they are used (other losses
# default to 1.0). Here, the lowest layer, so that both read it without the
# config importing the losses. The paper's weights are not available to us;
# PFS values are mean squared cosine differences (typically 1e-3..1e-1), an
# order of magnitude below the CE and KL terms at initialisation, hence the
# larger weight. Both are configurable and are settled by ablation.
DEFAULT_LOSS_WEIGHTS = {"pfs": 10.0, "imitation": 1.0}
DEFAULT_DISTILLATION_LOSSES = tuple(DEFAULT_LOSS_WEIGHTS)

# Where the distillation terms apply: "all" pixels (void and unlabelled
# images included: the teacher has a prediction everywhere) or only the
# "labeled" ones. "all" is the default: with partly labelled data,
# "labeled" silences the teacher on every unlabelled image (see the
# README's "Distilling beyond the labels" for the measurements).
DISTILL_PIXELS = ("all", "labeled")


@dataclasses.dataclass
class ExperimentConfig:
    """Everything an experiment needs, with defaults for the built-in data.

    Args:
        dataset: a reader of `keras_pfs.data.READERS`: `"synthetic"`
            (built in, no files), `"list_file"`, `"voc"` or `"tfds"`.
        data_dir: dataset root (list-file folder, VOC root or TFDS data dir).
        tfds_name: TFDS catalogue name when `dataset="tfds"`.
        manual_dir: folder with the TFDS archives, so no download is needed.
        train_split: list file name / split name used for training.
        val_split: list file name / split name used for evaluation.
        num_classes: number of classes K (void excluded).
        ignore_class: void label id.
        class_names: names of the K classes, for reports.
        palette: class colours of pictures (TensorBoard panels, evaluation
            PNGs): `None` for a generic palette, a name (`"camvid"`,
            `"voc"`) or K `(r, g, b)` colours; see
            `keras_pfs.data.class_palette`.
        image_size: synthetic images' `(height, width)`.
        num_train_images: synthetic training images.
        num_val_images: synthetic held-out images.
        preflight: before training, decode every image and label map of
            both splits and check sizes and label values (a few seconds for
            CamVid), so that a bad file is named before the first step.
        labeled_fraction: keep the labels of this fraction of the training
            images, drawn by `seed` (the same images in every run of a seed);
            the rest train as unlabelled images, through the distillation
            terms only. In (0, 1].
        unlabeled_images: training images without labels, streamed with the
            labelled ones (one shuffled stream): for `"synthetic"`, a count
            of extra generated images; for `"list_file"`, a folder of images
            or a text file with one image path a line (relative to it).
        crop_size: training crop `(height, width)`; `None`: no augmentation.
        scale_range: random scale range of the training augmentation.
        flip: random horizontal flips in training.
        teacher_preset: `keras_pfs.models` preset of the teacher.
        student_preset: preset of the student.
        teacher_options: keyword overrides of the teacher preset's head
            (arguments of `build_deeplab_segmenter`, e.g.
            `{"dilation_rates": (1, 2, 3)}`).
        student_options: the same for the student preset.
        batch_size: global batch size.
        epochs: training epochs.
        learning_rate: peak learning rate (cosine decay to 0).
        weight_decay: AdamW weight decay.
        seed: seed of initialisation, data order and augmentation.
        distillation_losses: `{registry name: constructor kwargs}` of the
            distillation terms (see `keras_pfs.losses.names()`).
        loss_weights: `{registry name: weight}`; missing names take
            `DEFAULT_LOSS_WEIGHTS`, else 1.0.
        ce_weight: weight of the cross-entropy on labels; 0 for a
            teacher-only run.
        distill_pixels: where the distillation terms apply, `"all"` pixels
            (void ones and unlabelled images included) or only the
            `"labeled"` ones; see `keras_pfs.Distiller`.
        feature_layer: layer of both teacher and student whose output the
            feature terms (`pfs`, `skd`, `ifvd`) distil, e.g. `"aspp"` or
            `"low_level_relu"` of the DeepLabV3+ presets (see
            `keras_pfs.models.wrap_segmenter`); `None`: their `features`
            output. The student's grid is resized to the teacher's.
        jit_compile: compile steps with XLA.
        strategy: `tf.distribute` strategy, see
            `keras_pfs.distribute.get_strategy`: `"auto"`, `"mirrored"`,
            `"multi_worker"`, `"tpu"` or `"none"`. `batch_size` stays the
            global batch, split over the replicas.
        mixed_precision: `None` (float32), `"mixed_float16"` (with loss
            scaling) or `"mixed_bfloat16"`: the Keras dtype policy of the
            models built for the run; losses are computed in float32.
        peer_wait_seconds: with `strategy="multi_worker"`, how long a worker
            waits for the other workers of `TF_CONFIG` to start before it
            stops, naming the missing ones. Not part of what a run trains: a
            resumed run may change it.
    """

    dataset: str = "synthetic"
    data_dir: str | None = None
    tfds_name: str | None = None
    manual_dir: str | None = None
    train_split: str = "train"
    val_split: str = "val"
    num_classes: int = 5
    ignore_class: int = 255
    class_names: tuple = ()
    palette: str | tuple | None = None
    image_size: tuple = (64, 64)
    num_train_images: int = 512
    num_val_images: int = 128
    preflight: bool = True
    labeled_fraction: float = 1.0
    unlabeled_images: str | int | None = None
    crop_size: tuple | None = None
    scale_range: tuple = (0.5, 2.0)
    flip: bool = True
    teacher_preset: str = "tiny_resnet"
    student_preset: str = "tiny_mobile"
    teacher_options: dict = dataclasses.field(default_factory=dict)
    student_options: dict = dataclasses.field(default_factory=dict)
    batch_size: int = 16
    epochs: int = 10
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 0
    distillation_losses: dict = dataclasses.field(
        default_factory=lambda: {name: {} for name in DEFAULT_DISTILLATION_LOSSES}
    )
    loss_weights: dict = dataclasses.field(default_factory=dict)
    ce_weight: float = 1.0
    distill_pixels: str = "all"
    feature_layer: str | None = None
    jit_compile: bool = False
    strategy: str = "auto"
    mixed_precision: str | None = None
    peer_wait_seconds: float = 600.0

    def __post_init__(self):
        for key, check in _CHECKS.items():
            value = getattr(self, key)
            if isinstance(value, list):  # from a config file or JSON
                value = tuple(value)
                setattr(self, key, value)
            problem = check(value)
            if problem:
                raise ValueError(f"Config key {key}={value!r}: {problem}.")
        if self.class_names and len(self.class_names) != self.num_classes:
            raise ValueError(
                f"Config key class_names has {len(self.class_names)} names for "
                f"num_classes={self.num_classes}."
            )
        self._check_losses()
        self._check_unlabeled()

    def _check_unlabeled(self):
        # Imported here: the readers need TensorFlow, loading a config not.
        from keras_pfs.data import READERS

        reader = READERS[self.dataset]
        if self.labeled_fraction < 1.0 and reader.no_labeled_fraction:
            raise ValueError(
                f"Config key labeled_fraction={self.labeled_fraction}: not "
                f"available for dataset {self.dataset!r} "
                f"({reader.no_labeled_fraction})."
            )
        source = self.unlabeled_images
        if source is None:
            return
        if reader.unlabeled_images is None:
            takers = " or ".join(
                repr(name) for name, other in READERS.items() if other.unlabeled_images
            )
            raise ValueError(
                f"Config key unlabeled_images: dataset {self.dataset!r} takes no "
                f"unlabelled images; use {takers} (or labeled_fraction)."
            )
        if not reader.accepts_unlabeled(source):
            raise ValueError(
                f"Config key unlabeled_images={source!r}: for dataset "
                f"{self.dataset!r} it is {reader.unlabeled_images}."
            )

    def _check_losses(self):
        # Imported here: the loss registry needs Keras, loading a config not.
        from keras_pfs import losses

        try:
            losses.from_config(self.distillation_losses)
        except ValueError as error:
            raise ValueError(f"Config key {error}") from None
        unused = sorted(set(self.loss_weights) - set(self.distillation_losses))
        if unused:
            raise ValueError(
                f"Config key loss_weights names {unused}, which are not in "
                f"distillation_losses {sorted(self.distillation_losses)}."
            )

    def to_dict(self):
        return dataclasses.asdict(self)


def _integer(minimum):
    def check(value):
        if isinstance(value, bool) or not isinstance(value, int):
            return f"expected an integer >= {minimum}"
        if value < minimum:
            return f"must be >= {minimum}"
        return None

    return check


def _number(minimum, strictly=False):
    def check(value):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "expected a number"
        if value < minimum or (strictly and value == minimum):
            return f"must be {'>' if strictly else '>='} {minimum}"
        return None

    return check


def _fraction(value):
    if _number(0, strictly=True)(value) or value > 1:
        return "expected a number in (0, 1]"
    return None


def _dataset(value):
    # Imported here: the readers need TensorFlow, loading a config not.
    from keras_pfs.data import READERS

    return _choice(*READERS)(value)


def _choice(*options):
    def check(value):
        if value not in options:
            return f"expected one of {', '.join(repr(o) for o in options)}"
        return None

    return check


def _text(optional=False):
    def check(value):
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value:
            return "expected a non-empty string" + (" or None" if optional else "")
        return None

    return check


def _flag(value):
    return None if isinstance(value, bool) else "expected True or False"


def _size(optional=False):
    def check(value):
        if value is None and optional:
            return None
        if (
            not isinstance(value, tuple)
            or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            or min(value) < 1
        ):
            return "expected (height, width), two integers >= 1" + (
                ", or None" if optional else ""
            )
        return None

    return check


def _scale_range(value):
    if (
        not isinstance(value, tuple)
        or len(value) != 2
        or any(_number(0, strictly=True)(v) for v in value)
        or value[0] > value[1]
    ):
        return "expected (low, high), numbers with 0 < low <= high"
    return None


def _names(value):
    if not isinstance(value, tuple) or not all(isinstance(v, str) for v in value):
        return "expected a tuple of strings"
    return None


def _palette(value):
    if value is None or (isinstance(value, str) and value):
        return None
    if isinstance(value, tuple | list) and all(
        isinstance(c, tuple | list) and len(c) == 3 for c in value
    ):
        return None
    return "expected None, a palette name or a sequence of (r, g, b) colours"


def _keyword_dict(value):
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        return "expected a dict of keyword arguments {name: value}"
    return None


def _loss_dict(value):
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, dict) for k, v in value.items()
    ):
        return (
            "expected a dict {loss name: constructor kwargs dict}, e.g. "
            "{'pfs': {}, 'imitation': {}}"
        )
    return None


def _weight_dict(value):
    if not isinstance(value, dict) or any(
        not isinstance(k, str) or _number(0)(v) for k, v in value.items()
    ):
        return "expected a dict {loss name: weight >= 0}"
    return None


# The type and range of every field, checked when a config is made.
_CHECKS = {
    "dataset": _dataset,
    "data_dir": _text(optional=True),
    "tfds_name": _text(optional=True),
    "manual_dir": _text(optional=True),
    "train_split": _text(),
    "val_split": _text(),
    "num_classes": _integer(1),
    "ignore_class": _integer(0),
    "class_names": _names,
    "palette": _palette,
    "image_size": _size(),
    "num_train_images": _integer(1),
    "num_val_images": _integer(1),
    "preflight": _flag,
    "labeled_fraction": _fraction,
    "unlabeled_images": lambda value: None,  # checked by the dataset's reader
    "crop_size": _size(optional=True),
    "scale_range": _scale_range,
    "flip": _flag,
    "teacher_preset": _text(),
    "student_preset": _text(),
    "teacher_options": _keyword_dict,
    "student_options": _keyword_dict,
    "batch_size": _integer(1),
    "epochs": _integer(1),
    "learning_rate": _number(0, strictly=True),
    "weight_decay": _number(0),
    "seed": _integer(0),
    "distillation_losses": _loss_dict,
    "loss_weights": _weight_dict,
    "ce_weight": _number(0),
    "distill_pixels": _choice(*DISTILL_PIXELS),
    "feature_layer": _text(optional=True),
    "jit_compile": _flag,
    "strategy": _text(),
    "mixed_precision": _choice(*MIXED_PRECISION_POLICIES),
    "peer_wait_seconds": _number(0, strictly=True),
}

_FIELDS = {f.name for f in dataclasses.fields(ExperimentConfig)}


def _check_keys(keys, source):
    unknown = sorted(set(keys) - _FIELDS)
    if unknown:
        raise ValueError(
            f"{source}: unknown config key {unknown[0]!r}; "
            f"known keys: {', '.join(sorted(_FIELDS))}."
        )


def parse_override(text):
    """Splits a `--set key=value` override into its key and value.

    The one override language of every command: the value is a Python
    literal (`2`, `[120, 160]`, `{"kd": {}}`, `True`, `None`), else JSON
    (`true`, `null`, as in comparison and benchmark files), else the bare
    string (`tiny_mobile`).

    Args:
        text: `"key=value"`.

    Returns:
        `(key, value)`.

    Raises:
        ValueError: one line naming the override, if it has no `=`.

    Example:

    >>> parse_override("crop_size=[120, 160]")
    ('crop_size', [120, 160])
    >>> parse_override("mixed_precision=true")
    ('mixed_precision', True)
    """
    if "=" not in text:
        raise ValueError(f"--set {text!r}: expected key=value.")
    key, value = text.split("=", 1)
    try:
        return key.strip(), ast.literal_eval(value)
    except (ValueError, SyntaxError):
        pass
    try:
        return key.strip(), json.loads(value)
    except json.JSONDecodeError:
        return key.strip(), value  # a bare string such as a preset name


def _read_config_file(path):
    """The `CONFIG` dict of the Python file `path`; its faults in one line."""
    if not os.path.isfile(path):
        raise ValueError(f"Config file {path} does not exist.")
    if not path.endswith(".py"):
        # importlib finds no loader for other suffixes and fails obscurely.
        raise ValueError(
            f"Config file {path} is not a Python file: a config file is a .py "
            "file that defines CONFIG = dict(...) (see configs/)."
        )
    spec = importlib.util.spec_from_file_location("keras_pfs_config", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as error:
        raise ValueError(
            f"Config file {path}, line {error.lineno}: syntax error ({error.msg})."
        ) from None
    except Exception as error:  # the file's own code failed
        frames = traceback.extract_tb(error.__traceback__)
        lines = [frame.lineno for frame in frames if frame.filename == path]
        where = f", line {lines[-1]}" if lines else ""
        raise ValueError(
            f"Config file {path}{where} raised {type(error).__name__}: {error}"
        ) from None
    if not isinstance(getattr(module, "CONFIG", None), dict):
        raise ValueError(f"Config file {path} must define a dict named CONFIG.")
    _check_keys(module.CONFIG, path)
    return module.CONFIG


def load_config(path=None, overrides=(), values=None):
    """Builds an `ExperimentConfig` from a config file and overrides.

    Args:
        path: a Python file (`.py`) defining `CONFIG` (a dict), or `None`
            for the defaults.
        overrides: `"key=value"` strings applied last.
        values: a dict of config values applied after the file and before
            `overrides` (e.g. a comparison's row).

    Returns:
        An `ExperimentConfig`.

    Raises:
        ValueError: one line naming the file (missing, not `.py`, a syntax
            error or an exception at a line, no `CONFIG`) or the bad key.

    Example:

    >>> load_config(None, ["epochs=2"]).epochs
    2
    """
    merged = {}
    if path is not None:
        merged.update(_read_config_file(path))
    _check_keys(values or {}, "values")
    merged.update(values or {})
    parsed = dict(parse_override(text) for text in overrides)
    _check_keys(parsed, "--set")
    merged.update(parsed)
    return ExperimentConfig(**merged)
