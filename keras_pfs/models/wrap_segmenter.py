"""Turns a user's functional segmentation model into the two-output form."""

import keras

from keras_pfs.models.resize_like import ResizeLike


def wrap_segmenter(model, feature_layer, logits_layer=None, name=None):
    """Exposes a functional model's logits and one inner feature map.

    Also re-points the `features` output of a model that already has both
    outputs (e.g. a `keras_pfs` preset) to another of its layers, sharing
    its weights: that is how the feature terms are moved to another layer
    (config key `feature_layer`).

    Args:
        model: a functional `keras.Model` from images to logits
            `(B, h, w, K)` (no softmax: distillation needs logits), or to
            a dict with `"logits"` at the input size.
        feature_layer: name of the layer whose output is distilled, ideally
            a high-level map at stride 8 (at worst 16).
        logits_layer: name of the layer giving logits; defaults to the
            model's single output.
        name: name of the wrapped model.

    Returns:
        A `keras.Model` on the same input, returning
        `{"logits": (B, H, W, K), "features": (B, H', W', C)}`, with logits
        resized to the input size if the model's are smaller.

    Example:

    >>> wrapped = wrap_segmenter(model, feature_layer="decoder_relu")  # doctest: +SKIP
    """
    # Subclassed models have no symbolic graph to take a layer's output from.
    if getattr(model, "inputs", None) is None:
        raise ValueError(
            f"wrap_segmenter needs a functional keras.Model; {model.name!r} is "
            f"{type(model).__name__}. Return a dict with 'logits' and "
            "'features' from its call() instead."
        )
    layer_names = [layer.name for layer in model.layers]

    def output_of(layer_name, what):
        if layer_name not in layer_names:
            raise ValueError(
                f"wrap_segmenter: model {model.name!r} has no layer {layer_name!r} "
                f"({what}); its last layers are {layer_names[-5:]}."
            )
        return model.get_layer(layer_name).output

    features = output_of(feature_layer, "feature_layer")
    two_outputs = logits_layer is None and isinstance(model.output, dict)
    if two_outputs:
        if "logits" not in model.output:
            raise ValueError(
                f"wrap_segmenter: model {model.name!r} returns a dict without "
                f"'logits' ({sorted(model.output)}); name them with logits_layer=."
            )
        logits = model.output["logits"]
    elif logits_layer is None:
        if len(model.outputs) != 1:
            raise ValueError(
                f"wrap_segmenter: model {model.name!r} has {len(model.outputs)} "
                "outputs; name the logits with logits_layer=."
            )
        logits = model.outputs[0]
    else:
        logits = output_of(logits_layer, "logits_layer")
    if not two_outputs:  # a two-output model's logits are at the input size
        # Named "logits" unless the model has a layer of that name already (a
        # functional model's layer names must be unique).
        resize_name = "logits"
        while resize_name in layer_names:
            resize_name += "_resized"
        logits = ResizeLike(name=resize_name)([logits, model.inputs[0]])
    # The single input itself, not a one-element list: called on a tensor,
    # a model built on a list warns that the input structure does not match.
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    return keras.Model(
        inputs,
        {"logits": logits, "features": features},
        name=name or f"{model.name}_wrapped",
    )
