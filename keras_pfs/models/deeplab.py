"""DeepLabV3+ segmenters with a stride-8 feature output for distillation."""

import keras

from keras_pfs.models.atrous_pyramid_pooling import AtrousPyramidPooling
from keras_pfs.models.resize_like import ResizeLike

# ImageNet statistics in 0..255 units: models take raw pixel values and
# normalise inside, so clients (and exported models) never repeat it.
_IMAGENET_MEAN = [0.485 * 255, 0.456 * 255, 0.406 * 255]
_IMAGENET_VARIANCE = [(0.229 * 255) ** 2, (0.224 * 255) ** 2, (0.225 * 255) ** 2]


def _conv_bn_relu(x, filters, name):
    x = keras.layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_conv")(x)
    x = keras.layers.BatchNormalization(name=f"{name}_norm")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


def build_deeplab_segmenter(
    image_encoder,
    num_classes,
    aspp_key="P5",
    low_level_key="P3",
    aspp_channels=256,
    projection_filters=48,
    head_channels=256,
    dilation_rates=(6, 12, 18),
    name="segmenter",
):
    """Builds a DeepLabV3+ segmenter whose outputs suit distillation.

    The encoder's `aspp_key` level goes through keras-hub's
    `SpatialPyramidPooling` (ASPP), is resized to the `low_level_key` level
    (stride 8 for `"P3"`), concatenated with a projection of that level and
    fused by a 1x1 conv: that fused map is the `features` output, the
    high-level, stride-8 map on which pixel-wise similarities are distilled.
    A 1x1 classifier on it gives logits, resized to the input size.

    Args:
        image_encoder: a keras-hub backbone with `pyramid_outputs`
            (`ResNetBackbone`, `EfficientNetBackbone`, `MiTBackbone`, ...).
        num_classes: number of classes K.
        aspp_key: pyramid level fed to ASPP.
        low_level_key: pyramid level of the features output.
        aspp_channels: ASPP width.
        projection_filters: width of the low-level projection.
        head_channels: width of the features output.
        dilation_rates: ASPP dilation rates.
        name: model name.

    Returns:
        A functional `keras.Model` mapping float32 images `(B, H, W, 3)` in
        0..255 to `{"logits": (B, H, W, K), "features": (B, H/8, W/8, C)}`
        (sizes rounded up).

    Example:

    >>> encoder = keras_hub.models.ResNetBackbone(...)  # doctest: +SKIP
    >>> model = build_deeplab_segmenter(encoder, num_classes=11)  # doctest: +SKIP
    """
    levels = [aspp_key, low_level_key]
    missing = [k for k in levels if k not in image_encoder.pyramid_outputs]
    if missing:
        raise ValueError(
            f"Encoder {image_encoder.name!r} has no pyramid level {missing[0]!r}; "
            f"it has {sorted(image_encoder.pyramid_outputs)}."
        )
    # Only the levels used are kept, so unused deeper stages cost nothing.
    pyramid = keras.Model(
        image_encoder.inputs,
        {k: image_encoder.pyramid_outputs[k] for k in levels},
        name=f"{name}_encoder",
    )
    images = keras.Input((None, None, 3), name="images")
    x = keras.layers.Normalization(
        mean=_IMAGENET_MEAN, variance=_IMAGENET_VARIANCE, name="normalize"
    )(images)
    levels_out = pyramid(x)
    low_level = levels_out[low_level_key]
    context = AtrousPyramidPooling(
        dilation_rates=list(dilation_rates), num_channels=aspp_channels, name="aspp"
    )(levels_out[aspp_key])
    context = ResizeLike(name="aspp_resize")([context, low_level])
    projected = _conv_bn_relu(low_level, projection_filters, "low_level")
    fused = keras.layers.Concatenate(name="fuse_concat")([context, projected])
    features = _conv_bn_relu(fused, head_channels, "features")
    logits = keras.layers.Conv2D(num_classes, 1, name="classifier")(features)
    logits = ResizeLike(name="logits")([logits, images])
    return keras.Model(images, {"logits": logits, "features": features}, name=name)
