"""keras-hub image segmenters as teachers or students, in one line."""

import logging

import keras
import keras_hub

# keras-hub exports these layers only under its src tree (written against
# keras-hub 0.32.0; tests/test_keras_private.py checks them).
from keras_hub.src.models.deeplab_v3.deeplab_v3_layers import SpatialPyramidPooling
from keras_hub.src.models.mit.mit_layers import HierarchicalTransformerEncoder

from keras_pfs.models.atrous_pyramid_pooling import AtrousPyramidPooling
from keras_pfs.models.mix_transformer_block import MixTransformerBlock
from keras_pfs.models.resize_like import ResizeLike

# Prefix of `teacher_preset` / `student_preset` values naming a keras-hub
# preset (a handle or a local preset directory) instead of one of ours.
KERAS_HUB_PREFIX = "keras_hub:"

# The PFS paper distils a stride-8 map; stride 16 is the fallback.
_FEATURE_STRIDES = (8, 16)

# keras-hub layers that do not load back from a `.keras` file, and our
# registered subclasses that do (same state, fixed config and build).
_RELOADABLE = {
    HierarchicalTransformerEncoder: MixTransformerBlock,
    SpatialPyramidPooling: AtrousPyramidPooling,
}

_LOGGER = logging.getLogger(__name__)


@keras.saving.register_keras_serializable(package="keras_pfs")
class KerasHubSegmenter(keras.Model):
    """The functional model `from_keras_hub` returns: inference unless told.

    keras-hub's DeepLabV3 and SegFormer graphs hold `keras.layers.Resizing`
    layers, whose `call` defaults to `training=True`. Keras 3.15 records
    that default in the graph and hands it, through the call context shared
    by the whole forward pass, to every layer called after it that was not
    given `training` explicitly (keras-team/keras#23166,
    keras-team/keras-hub#2495). So `model(x)` ran the backbone's
    BatchNorms on batch statistics, and updated their moving statistics,
    and a resize in front of SegFormer also switched on its attention
    dropouts. Defaulting `training` to `False` passes it explicitly to
    every layer: `model(x)` is `model.predict(x)`; `fit` still trains with
    `training=True`.

    Example:

    >>> images = keras.Input((None, None, 3))
    >>> model = KerasHubSegmenter(images, {"logits": images, "features": images})
    """

    def call(self, inputs, training=False, mask=None):
        return super().call(inputs, training=training, mask=mask)


def _make_reloadable(model):
    """Switches, in place, the layers of `model` (and of the models nested
    in it) whose keras-hub class does not reload to our subclass of it.

    Relies on Keras 3.15.1 saving a layer as `type(layer)` and on the
    subclasses adding no state; Keras keeps the call signature it read at
    construction, so the swapped layer takes `training` from the enclosing
    call only (tests/test_keras_private.py).
    """
    for layer in model.layers:
        if type(layer) in _RELOADABLE:
            layer.__class__ = _RELOADABLE[type(layer)]
        elif isinstance(layer, keras.Model):
            _make_reloadable(layer)


def _load_segmenter(segmenter_or_preset):
    if isinstance(segmenter_or_preset, keras_hub.models.ImageSegmenter):
        return segmenter_or_preset
    if not isinstance(segmenter_or_preset, str):
        raise ValueError(
            "from_keras_hub takes a keras_hub.models.ImageSegmenter or a preset "
            f"handle, got {type(segmenter_or_preset).__name__}."
        )
    handle = segmenter_or_preset.removeprefix(KERAS_HUB_PREFIX)
    try:
        return keras_hub.models.ImageSegmenter.from_preset(handle)
    except Exception as error:
        raise ValueError(
            f"keras-hub preset {handle!r} could not be loaded as an "
            f"ImageSegmenter: {error}"
        ) from error


def _node_outputs(layer):
    """`layer`'s outputs where its (single) caller's graph uses them.

    A nested functional model's `output` is its own graph's; the tensors the
    enclosing graph sees are those of the node that called it, in the private
    `_inbound_nodes` (Keras 3.15.1; tests/test_keras_private.py checks it).
    """
    if len(layer._inbound_nodes) != 1:
        return None
    return keras.tree.pack_sequence_as(
        layer.output, layer._inbound_nodes[0].output_tensors
    )


def _candidate_features(backbone):
    """`{name: tensor}` of the backbone graph's maps that can be distilled:
    its layers' outputs, and the nested image encoder's pyramid outputs."""
    candidates = {}
    for layer in backbone.layers[1:]:
        outputs = _node_outputs(layer)
        if isinstance(outputs, dict):
            candidates.update(outputs)
        elif keras.tree.is_nested(outputs) or outputs is None:
            continue
        else:
            candidates[layer.name] = outputs
    return {
        name: tensor for name, tensor in candidates.items() if len(tensor.shape) == 4
    }


def _strides(backbone, candidates, probe_size):
    """Stride of every candidate map, measured on a probe image size."""
    names = sorted(candidates)
    probe = keras.Model(backbone.inputs, [candidates[n] for n in names])
    specs = probe.compute_output_spec(keras.KerasTensor((1, *probe_size, 3)))
    return {
        n: probe_size[0] / spec.shape[1] for n, spec in zip(names, specs, strict=True)
    }


def _choose_feature(backbone, candidates, probe_size):
    pyramid = {n: t for n, t in candidates.items() if n[:1] == "P" and n[1:].isdigit()}
    strides = _strides(backbone, pyramid or candidates, probe_size)
    for stride in _FEATURE_STRIDES:
        matching = sorted(n for n, s in strides.items() if s == stride)
        if matching:
            return matching[-1], stride
    raise ValueError(
        f"from_keras_hub: backbone {backbone.name!r} has no stride-8 or stride-16 "
        f"feature map (strides: {strides}); name one with feature_layer=."
    )


def from_keras_hub(segmenter_or_preset, feature_layer=None, name=None):
    """A keras-hub `ImageSegmenter` in the form the `Distiller` trains.

    The segmenter's preprocessor is folded into the model: its resizing (for
    fixed-size models such as SegFormer; logits are resized back to the
    input size) and its scaling and offset, so the model takes float32
    images in 0..255 like the models of `build_segmenter`. The distilled
    feature map comes from inside the backbone: `feature_layer` if named,
    else the image encoder's stride-8 pyramid output (else stride 16); the
    choice is logged. The result shares the segmenter's layers and weights,
    and its forward pass runs the backbone once. It runs in inference mode
    unless called with `training=True` (see `KerasHubSegmenter`), and it
    loads back from a `.keras` file: keras-hub layers that would not
    (DeepLabV3's ASPP, SegFormer's MiT blocks) are switched in place to
    registered subclasses, `AtrousPyramidPooling` and `MixTransformerBlock`.

    Args:
        segmenter_or_preset: a `keras_hub.models.ImageSegmenter` (e.g.
            `DeepLabV3ImageSegmenter`, `SegFormerImageSegmenter`), or a
            keras-hub preset handle or local preset directory, optionally
            prefixed with `"keras_hub:"`.
        feature_layer: a layer of the backbone, or a key of its image
            encoder's `pyramid_outputs` (`"P3"`, ...), whose output is
            distilled.
        name: name of the returned model.

    Returns:
        A `KerasHubSegmenter` from float32 images `(B, H, W, 3)` in 0..255
        to `{"logits": (B, H, W, K), "features": (B, h, w, C)}`.

    Example:

    >>> teacher = from_keras_hub("keras_hub:/path/to/preset_dir")  # doctest: +SKIP
    >>> sorted(teacher.output)  # doctest: +SKIP
    ['features', 'logits']
    """
    segmenter = _load_segmenter(segmenter_or_preset)
    _make_reloadable(segmenter)
    backbone = segmenter.backbone
    if getattr(segmenter, "activation", None) not in (None, "linear"):
        raise ValueError(
            f"from_keras_hub: {segmenter.name!r} ends in activation="
            f"{segmenter.activation!r}; distillation needs logits (activation=None)."
        )
    converter = getattr(segmenter.preprocessor, "image_converter", None)
    fixed_size = tuple(backbone.input.shape[1:3])
    if None in fixed_size:
        fixed_size = (
            tuple(converter.image_size) if converter and converter.image_size else None
        )
    candidates = _candidate_features(backbone)
    if feature_layer is None:
        feature_layer, stride = _choose_feature(
            backbone, candidates, fixed_size or (256, 256)
        )
        _LOGGER.info(
            "from_keras_hub(%s): distilling %r, the stride-%d feature map.",
            segmenter.name,
            feature_layer,
            stride,
        )
    elif feature_layer not in candidates:
        raise ValueError(
            f"from_keras_hub: backbone {backbone.name!r} has no feature map "
            f"{feature_layer!r}; it has {sorted(candidates)}."
        )
    with_features = keras.Model(
        backbone.inputs, [backbone.output, candidates[feature_layer]]
    )
    images = keras.Input((None, None, 3), name="images")
    x = images
    if fixed_size:
        x = keras.layers.Resizing(*fixed_size, name="resize_in")(x)
    if converter is not None:
        x = keras.layers.Rescaling(
            1.0 if converter.scale is None else converter.scale,
            0.0 if converter.offset is None else converter.offset,
            name="preprocess",
        )(x)
    x, features = with_features(x)
    # The segmenter's head: the chain of layers its graph applies to the
    # backbone's output, one call each (private `_inbound_nodes`, Keras 3.15.1).
    head = segmenter.layers[2:]
    for layer in head:
        if (
            segmenter.layers[1] is not backbone
            or len(layer._inbound_nodes) != 1
            or len(layer._inbound_nodes[0].input_tensors) != 1
        ):
            raise ValueError(
                f"from_keras_hub: {segmenter.name!r}'s head is not a chain of "
                f"layers after the backbone (at {layer.name!r}); wrap it with "
                "keras_pfs.models.wrap_segmenter instead."
            )
    for layer in head:
        x = layer(x)
    logits = ResizeLike(name="logits")([x, images])
    return KerasHubSegmenter(
        images,
        {"logits": logits, "features": features},
        name=name or f"{segmenter.name}_pfs",
    )
