"""The private Keras and keras-hub APIs keras_pfs relies on, one test each.

Every private use in `keras_pfs` is recorded in `PRIVATE_APIS`, with the
files that use it and the behaviour they rely on; each was written against
Keras 3.15.1 and keras-hub 0.32.0. When a Keras release changes one, its test
fails with a message naming the API, its users and what they rely on: fix
those users, then the test. `test_every_private_use_is_recorded` fails when a
private use is added to `keras_pfs` without an entry here.
"""

import collections
import contextlib
import inspect
import json
import os
import pathlib
import re

import h5py
import keras
import keras_hub
import numpy as np
import pytest
import tensorflow as tf
from keras.src.backend.tensorflow import trainer as tf_trainer
from keras_hub.src.models.deeplab_v3.deeplab_v3_layers import SpatialPyramidPooling
from keras_hub.src.models.mit.mit_layers import HierarchicalTransformerEncoder

from keras_pfs.callbacks import WorkerBackup
from keras_pfs.callbacks.backup import _weights_file_contents
from keras_pfs.distribute import multi_worker_compat
from keras_pfs.models.keras_hub_segmenter import _make_reloadable
from keras_pfs.models.mix_transformer_block import MixTransformerBlock
from tests.tiny_keras_hub import tiny_deeplab, tiny_segformer

KERAS_VERSION = "3.15.1"
KERAS_HUB_VERSION = "0.32.0"

PrivateApi = collections.namedtuple("PrivateApi", "names sites relies_on")

# Names are spelled as in the users' source, where the check below finds them.
PRIVATE_APIS = {
    "maybe_symbolic_build": PrivateApi(
        (
            "keras.src",
            "_maybe_symbolic_build",
            "_symbolic_build",
            "_distribute_strategy",
        ),
        ("distribute/multi_worker_compat.py",),
        "apply() replaces TensorFlowTrainer._maybe_symbolic_build(self, "
        "iterator=None, data_batch=None); fit() calls it with its epoch "
        "iterator, whose items are (_, _, iterator) triples, and it ends in "
        "self._symbolic_build(data_batch=...), which builds the optimizer",
    ),
    "reduce_per_replica": PrivateApi(
        ("keras.src", "reduce_per_replica"),
        ("distribute/multi_worker_compat.py",),
        "apply() replaces the module global trainer.reduce_per_replica(values, "
        "strategy, reduction), which the train step looks up when traced",
    ),
    "saving_lib": PrivateApi(
        ("keras.src", "H5IOStore", "_save_state"),
        ("callbacks/backup.py",),
        "H5IOStore(BytesIO, mode='w') with .h5_file and .close(), and "
        "_save_state(model, store, None, '', set()), write in memory the "
        "file that model.load_weights() reads, optimizer state included",
    ),
    "backup_and_restore": PrivateApi(
        (
            "_save_model",
            "_weights_path",
            "_prev_weights_path",
            "_training_metadata_path",
            "_prev_training_metadata_path",
            "_current_epoch",
            "_last_batch_seen",
        ),
        ("callbacks/backup.py",),
        "BackupAndRestore calls _save_model() at each epoch end, after "
        "setting _current_epoch to the epochs done and _last_batch_seen to 0, "
        "and names its files in _weights_path (a .weights.h5 in backup_dir), "
        "_training_metadata_path and their _prev_* (.bkp) twins",
    ),
    "initial_epoch": PrivateApi(
        ("_initial_epoch",),
        ("callbacks/backup.py",),
        "fit() starts at model._initial_epoch when a callback's on_train_begin sets it",
    ),
    "flatten_layers": PrivateApi(
        ("_flatten_layers",),
        ("distiller/batch_norm.py", "export/any_size.py"),
        "Layer._flatten_layers(include_self=True) yields the layer (unless "
        "include_self=False) and every layer inside it, in nested models and "
        "in layers' own sublayers",
    ),
    "inbound_nodes": PrivateApi(
        ("_inbound_nodes",),
        ("models/keras_hub_segmenter.py",),
        "a layer called once in a functional graph has one _inbound_nodes "
        "entry, one per call, whose input_tensors and output_tensors are "
        "that graph's tensors (for a nested model, not its own graph's)",
    ),
    "class_swap": PrivateApi(
        ("__class__ =",),
        ("models/keras_hub_segmenter.py",),
        "a built keras-hub layer whose __class__ is set to our subclass "
        "keeps its weights and outputs, is saved as our registered class, "
        "and takes `training` from the enclosing call (Keras read the "
        "keras-hub call signature at construction)",
    ),
    "keras_hub_layers": PrivateApi(
        ("keras_hub.src",),
        (
            "models/keras_hub_segmenter.py",
            "models/atrous_pyramid_pooling.py",
            "models/mix_transformer_block.py",
        ),
        "keras-hub's ASPP and MiT block classes, SpatialPyramidPooling and "
        "HierarchicalTransformerEncoder, importable from these src modules, "
        "with the attributes our get_config reads (project_dim, num_heads, "
        "attn.sr_ratio, drop_path.rate, norm1.epsilon)",
    ),
}

PACKAGE = pathlib.Path(__file__).parent.parent / "keras_pfs"

# Attribute reads and writes of a private name on anything but `self` or
# `cls`, imports from a src tree, and class swaps.
# `os._exit` is public (documented) despite its underscore.
_PRIVATE_USE = re.compile(
    r"(?<!self)(?<!cls)(?<!os)\.(_[a-z]\w*)|(keras(?:_hub)?\.src)|(__class__ =)"
)


def _changed(key):
    api = PRIVATE_APIS[key]
    sites = ", ".join(f"keras_pfs/{site}" for site in api.sites)
    return (
        f"Private Keras API {key!r} changed (written against Keras "
        f"{KERAS_VERSION} and keras-hub {KERAS_HUB_VERSION}; installed: "
        f"{keras.__version__} and {keras_hub.__version__}). Used in {sites}, "
        f"which rely on: {api.relies_on}."
    )


@contextlib.contextmanager
def _relying_on(key):
    """Turns any error or failed assertion into a failure naming `key`."""
    try:
        yield
    except Exception as error:
        pytest.fail(f"{_changed(key)}\n{type(error).__name__}: {error}")


def _tiny_model():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    model.compile(optimizer="adam", loss="mse")
    return model


def _tiny_data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(8, 3)), rng.normal(size=(8, 2))


def test_every_private_use_is_recorded():
    recorded = {
        (site, name)
        for api in PRIVATE_APIS.values()
        for site in api.sites
        for name in api.names
    }
    found = set()
    for path in PACKAGE.rglob("*.py"):
        site = path.relative_to(PACKAGE).as_posix()
        for match in _PRIVATE_USE.finditer(path.read_text()):
            found.add((site, next(group for group in match.groups() if group)))
    unrecorded = found - recorded
    assert not unrecorded, f"Private uses missing from PRIVATE_APIS: {unrecorded}"
    stale = {
        (site, name)
        for site, name in recorded
        if name not in (PACKAGE / site).read_text()
    }
    assert not stale, f"PRIVATE_APIS entries no longer used there: {stale}"


def test_fit_builds_through_the_patched_maybe_symbolic_build(monkeypatch):
    optimizer_built = []

    def spy(self, iterator=None, data_batch=None):
        multi_worker_compat._maybe_symbolic_build(self, iterator, data_batch)
        optimizer_built.append(self.optimizer.built)

    with _relying_on("maybe_symbolic_build"):
        low, high = multi_worker_compat.AFFECTED_VERSIONS
        assert low <= multi_worker_compat._version() <= high, (
            "Keras is outside AFFECTED_VERSIONS, so apply() no longer patches: "
            "check keras-team/keras#20585 and the two patched functions"
        )
        parameters = inspect.signature(
            tf_trainer.TensorFlowTrainer._maybe_symbolic_build
        ).parameters
        assert list(parameters) == ["self", "iterator", "data_batch"]
        monkeypatch.setattr(tf_trainer.TensorFlowTrainer, "_maybe_symbolic_build", spy)
        # Keras builds symbolically only for a model made under a strategy.
        with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
            model = _tiny_model()
        model.fit(*_tiny_data(), batch_size=4, epochs=1, verbose=0)
        assert optimizer_built == [True], "fit() did not build through it"


def test_the_train_step_calls_the_patched_reduce_per_replica(monkeypatch):
    reductions = []

    def spy(values, strategy, reduction):
        reductions.append(reduction)
        return multi_worker_compat._reduce_per_replica(values, strategy, reduction)

    with _relying_on("reduce_per_replica"):
        parameters = inspect.signature(tf_trainer.reduce_per_replica).parameters
        assert list(parameters) == ["values", "strategy", "reduction"]
        monkeypatch.setattr(tf_trainer, "reduce_per_replica", spy)
        _tiny_model().fit(*_tiny_data(), batch_size=4, epochs=1, verbose=0)
        # Once per trace of the train step.
        assert reductions and set(reductions) == {"auto"}, "the step did not call it"


def test_weights_serialised_in_memory_load_back(tmp_path):
    model = _tiny_model()
    model.fit(*_tiny_data(), batch_size=4, epochs=1, verbose=0)
    path = str(tmp_path / "in_memory.weights.h5")
    with _relying_on("saving_lib"):
        with open(path, "wb") as f:
            f.write(_weights_file_contents(model, epoch=7))
        with h5py.File(path, "r") as f:
            assert f.attrs["keras_pfs_epoch"] == 7
        restored = _tiny_model()
        restored.optimizer.build(restored.trainable_variables)
        restored.load_weights(path)
        for expected, actual in zip(
            model.weights + model.optimizer.variables,
            restored.weights + restored.optimizer.variables,
            strict=True,
        ):
            np.testing.assert_array_equal(actual.numpy(), expected.numpy())


def test_backup_and_restore_saves_each_epoch_under_its_paths(tmp_path):
    backup = WorkerBackup(str(tmp_path / "backup"))
    with _relying_on("backup_and_restore"):
        _tiny_model().fit(
            *_tiny_data(), batch_size=4, epochs=2, verbose=0, callbacks=[backup]
        )
        assert backup._weights_path.endswith(".weights.h5")
        assert os.path.dirname(backup._weights_path) == backup.backup_dir
        for path in (backup._weights_path, backup._prev_weights_path):
            assert os.path.exists(path), f"{path} not written"
        for path, epoch in (
            (backup._training_metadata_path, 2),
            (backup._prev_training_metadata_path, 1),
        ):
            with open(path) as f:
                assert json.load(f) == {"epoch": epoch, "batch": 0}, path


def test_fit_starts_at_the_initial_epoch_set_on_train_begin():
    class StartAtTwo(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.model._initial_epoch = 2

    with _relying_on("initial_epoch"):
        history = _tiny_model().fit(
            *_tiny_data(), epochs=3, verbose=0, callbacks=[StartAtTwo()]
        )
        assert history.epoch == [2]


def test_flatten_layers_reaches_every_nested_layer():
    class Block(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.norm = keras.layers.BatchNormalization(name="in_a_layer")

        def call(self, inputs):
            return self.norm(inputs)

    nested = keras.Sequential(
        [keras.layers.BatchNormalization(name="in_a_model")], name="nested"
    )
    inputs = keras.Input((4,))
    model = keras.Model(inputs, Block(name="block")(nested(inputs)), name="outer")
    with _relying_on("flatten_layers"):
        below = {layer.name for layer in model._flatten_layers(include_self=False)}
        assert {"nested", "in_a_model", "block", "in_a_layer"} <= below
        assert "outer" not in below
        assert model in list(model._flatten_layers())


def test_inbound_nodes_hold_the_calling_graphs_tensors():
    inner_inputs = keras.Input((4,))
    inner = keras.Model(
        inner_inputs, {"out": keras.layers.Dense(3)(inner_inputs)}, name="inner"
    )
    inputs = keras.Input((4,))
    dense = keras.layers.Dense(2)
    shared = keras.layers.Dense(3)
    outputs = dense(shared(shared(inner(inputs)["out"])))
    with _relying_on("inbound_nodes"):
        assert len(inner._inbound_nodes) == 1
        assert len(shared._inbound_nodes) == 2
        assert len(dense._inbound_nodes[0].input_tensors) == 1
        seen = keras.tree.pack_sequence_as(
            inner.output, inner._inbound_nodes[0].output_tensors
        )
        assert seen["out"] is not inner.output["out"]
        # The outer graph's tensor, so a model from the outer inputs reaches it.
        probe = keras.Model(inputs, [seen["out"], outputs])
        assert probe(np.ones((1, 4)))[0].shape == (1, 3)


def test_a_swapped_keras_hub_layer_keeps_its_state_and_saves_as_ours():
    images = np.random.default_rng(0).uniform(0, 5, (2, 8, 8, 4))
    tokens = np.random.default_rng(1).normal(size=(1, 16, 8))
    aspp = SpatialPyramidPooling(dilation_rates=[1, 2], num_channels=4)
    block = HierarchicalTransformerEncoder(project_dim=8, num_heads=1, sr_ratio=2)
    model = keras.Sequential([keras.Input((8, 8, 4)), aspp])
    tokens_model = keras.Sequential([keras.Input((16, 8)), block])
    before = model(images, training=False), tokens_model(tokens, training=False)
    with _relying_on("class_swap"):
        _make_reloadable(model)
        _make_reloadable(tokens_model)
        for layer, name in (
            (aspp, "AtrousPyramidPooling"),
            (block, "MixTransformerBlock"),
        ):
            assert type(layer).__name__ == name
            config = keras.saving.serialize_keras_object(layer)
            assert config["registered_name"] == f"keras_pfs>{name}"
        np.testing.assert_allclose(model(images, training=False), before[0], atol=1e-6)
        np.testing.assert_allclose(
            tokens_model(tokens, training=False), before[1], atol=1e-6
        )
        # The enclosing call's `training` reaches the inner BatchNorms.
        assert not np.allclose(model(images, training=True), before[0], atol=1e-3)


def test_keras_hub_builds_the_layers_we_swap_and_they_hold_our_config():
    arguments = {
        "project_dim": 8,
        "num_heads": 2,
        "sr_ratio": 2,
        "drop_prob": 0.25,
        "layer_norm_epsilon": 1e-5,
    }
    with _relying_on("keras_hub_layers"):
        for segmenter, keras_hub_class in (
            (tiny_deeplab, SpatialPyramidPooling),
            (tiny_segformer, HierarchicalTransformerEncoder),
        ):
            layers = segmenter()._flatten_layers()
            assert any(type(layer) is keras_hub_class for layer in layers), (
                f"{segmenter.__name__} builds no {keras_hub_class.__name__}"
            )
        config = MixTransformerBlock(**arguments).get_config()
        assert {name: config[name] for name in arguments} == arguments
