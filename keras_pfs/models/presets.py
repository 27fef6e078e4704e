"""Named segmenter configurations built from keras-hub classes.

Every preset is built from explicit arguments, so nothing is downloaded;
weights start random. Teacher presets are ResNet-class DeepLabV3+ models,
student presets MobileNet-style (EfficientNet MBConv) DeepLabV3+ models.
"""

import keras_hub

from keras_pfs.models.deeplab import build_deeplab_segmenter
from keras_pfs.models.keras_hub_segmenter import KERAS_HUB_PREFIX, from_keras_hub


def _resnet(block_type, num_blocks, num_filters):
    return keras_hub.models.ResNetBackbone(
        input_conv_filters=[num_filters[0]],
        input_conv_kernel_sizes=[7],
        stackwise_num_filters=list(num_filters),
        stackwise_num_blocks=list(num_blocks),
        stackwise_num_strides=[1, 2, 2, 2],
        block_type=block_type,
    )


def _mbconv(width, depth):
    """EfficientNet-B0's MBConv stages (MobileNetV2 inverted residuals + SE)."""
    return keras_hub.models.EfficientNetBackbone(
        stackwise_kernel_sizes=[3, 3, 5, 3, 5, 5, 3],
        stackwise_num_repeats=[1, 2, 2, 3, 3, 4, 1],
        stackwise_input_filters=[32, 16, 24, 40, 80, 112, 192],
        stackwise_output_filters=[16, 24, 40, 80, 112, 192, 320],
        stackwise_expansion_ratios=[1, 6, 6, 6, 6, 6, 6],
        stackwise_strides=[1, 2, 2, 2, 1, 2, 1],
        stackwise_squeeze_and_excite_ratios=[0.25] * 7,
        stackwise_block_types=["v1"] * 7,
        width_coefficient=width,
        depth_coefficient=depth,
        activation="relu6",
        dropout=0.0,
    )


# name -> (role, description, encoder factory, head arguments)
_PRESETS = {
    "deeplabv3plus_resnet50": (
        "teacher",
        "DeepLabV3+, ResNet-50 encoder, ASPP on stride 32, features at stride 8.",
        lambda: _resnet("bottleneck_block", (3, 4, 6, 3), (64, 128, 256, 512)),
        {"aspp_key": "P5"},
    ),
    "deeplabv3plus_resnet18": (
        "teacher",
        "DeepLabV3+, ResNet-18 encoder, ASPP on stride 32, features at stride 8.",
        lambda: _resnet("basic_block", (2, 2, 2, 2), (64, 128, 256, 512)),
        {"aspp_key": "P5"},
    ),
    "deeplabv3plus_mobile": (
        "student",
        "DeepLabV3+, EfficientNet-B0 MBConv encoder to stride 16, slim ASPP "
        "and head (128), features at stride 8.",
        lambda: _mbconv(1.0, 1.0),
        {"aspp_key": "P4", "aspp_channels": 128, "head_channels": 128},
    ),
    "tiny_resnet": (
        "teacher",
        "Small ResNet DeepLabV3+ for the built-in dataset and tests.",
        lambda: _resnet("basic_block", (1, 1, 1, 1), (64, 64, 128, 256)),
        # Its stride-32 map is 2x2 on 64x64 images: larger rates only read
        # padding, and their backward pass is 10x slower on AVX2 CPUs.
        {
            "aspp_key": "P5",
            "aspp_channels": 128,
            "head_channels": 128,
            "dilation_rates": (1, 2, 3),
        },
    ),
    "tiny_mobile": (
        "student",
        "Very small MBConv DeepLabV3+ for the built-in dataset and tests.",
        lambda: _mbconv(0.25, 0.34),
        {
            "aspp_key": "P4",
            "aspp_channels": 32,
            "projection_filters": 16,
            "head_channels": 32,
        },
    ),
}


def list_presets():
    """Returns `{name: "role: description"}` for every preset."""
    return {name: f"{role}: {desc}" for name, (role, desc, _, _) in _PRESETS.items()}


def build_segmenter(preset, num_classes, **head_overrides):
    """Builds a segmenter from a named preset.

    Args:
        preset: a name from `list_presets()`, or `"keras_hub:<handle>"`, a
            keras-hub `ImageSegmenter` preset handle or local preset
            directory (see `from_keras_hub`; its weights are kept).
        num_classes: number of classes K.
        **head_overrides: arguments of `build_deeplab_segmenter` that replace
            the preset's (e.g. `head_channels=64`).

    Returns:
        A `keras.Model` from float32 images in 0..255 to
        `{"logits": (B, H, W, K), "features": (B, ceil(H/8), ceil(W/8), C)}`.

    Example:

    >>> model = build_segmenter("tiny_mobile", num_classes=5)
    >>> sorted(model.output)
    ['features', 'logits']
    """
    if preset.startswith(KERAS_HUB_PREFIX):
        if head_overrides:
            raise ValueError(
                f"Preset {preset!r}: head options {sorted(head_overrides)} apply "
                "only to keras_pfs presets, not to keras-hub models."
            )
        model = from_keras_hub(preset)
        if model.output["logits"].shape[-1] != num_classes:
            raise ValueError(
                f"Preset {preset!r} predicts {model.output['logits'].shape[-1]} "
                f"classes but the config's num_classes is {num_classes}."
            )
        return model
    if preset not in _PRESETS:
        raise ValueError(
            f"Unknown preset {preset!r}; known: {', '.join(sorted(_PRESETS))}."
        )
    _, _, encoder_factory, head = _PRESETS[preset]
    return build_deeplab_segmenter(
        encoder_factory(), num_classes, name=preset, **{**head, **head_overrides}
    )
