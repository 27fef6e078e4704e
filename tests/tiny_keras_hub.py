"""Tiny keras-hub segmenters (DeepLabV3, SegFormer) built offline for tests."""

import keras_hub

NUM_CLASSES = 3


def tiny_deeplab():
    encoder = keras_hub.models.ResNetBackbone(
        input_conv_filters=[64],
        input_conv_kernel_sizes=[3],
        stackwise_num_filters=[64, 8, 16, 16],
        stackwise_num_blocks=[1, 1, 1, 1],
        stackwise_num_strides=[1, 2, 2, 2],
        block_type="basic_block",
    )
    backbone = keras_hub.models.DeepLabV3Backbone(
        image_encoder=encoder,
        spatial_pyramid_pooling_key="P4",
        upsampling_size=4,
        dilation_rates=[1, 2],
        projection_filters=8,
        low_level_feature_key="P2",
    )
    converter = keras_hub.layers.DeepLabV3ImageConverter(
        scale=[1 / 58.4, 1 / 57.1, 1 / 57.4], offset=[-2.1, -2.0, -1.8]
    )
    return keras_hub.models.DeepLabV3ImageSegmenter(
        backbone=backbone,
        num_classes=NUM_CLASSES,
        preprocessor=keras_hub.models.DeepLabV3ImageSegmenterPreprocessor(
            image_converter=converter
        ),
    )


def tiny_segformer():
    encoder = keras_hub.models.MiTBackbone(
        layerwise_depths=[1, 1],
        num_layers=2,
        hidden_dims=[8, 16],
        layerwise_num_heads=[1, 1],
        layerwise_sr_ratios=[2, 1],
        max_drop_path_rate=0.0,
        layerwise_patch_sizes=[7, 3],
        layerwise_strides=[4, 2],
        image_shape=(32, 32, 3),
    )
    backbone = keras_hub.models.SegFormerBackbone(
        image_encoder=encoder, projection_filters=8
    )
    converter = keras_hub.layers.SegFormerImageConverter(
        image_size=(32, 32), scale=1 / 255.0
    )
    return keras_hub.models.SegFormerImageSegmenter(
        backbone=backbone,
        num_classes=NUM_CLASSES,
        preprocessor=keras_hub.models.SegFormerImageSegmenterPreprocessor(
            image_converter=converter
        ),
    )
