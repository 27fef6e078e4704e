"""Parameter and FLOP counts of a model, for benchmark tables."""

import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import (
    convert_variables_to_constants_v2,
)
from tensorflow.python.profiler import model_analyzer, option_builder


def count_flops(model, image_shape):
    """Floating-point operations of one forward pass, as TF's profiler counts.

    A multiply-add counts as 2 FLOPs (the profiler's convention).

    Args:
        model: a Keras model taking float32 images.
        image_shape: `(height, width)` of one image; batch size 1.

    Returns:
        The FLOP count as an int.

    Example:

    >>> count_flops(build_segmenter("tiny_mobile", 5), (64, 64))  # doctest: +SKIP
    """
    spec = tf.TensorSpec((1, *image_shape, 3), tf.float32)
    concrete = tf.function(lambda x: model(x, training=False)).get_concrete_function(
        spec
    )
    graph = convert_variables_to_constants_v2(concrete).graph
    options = option_builder.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    profile = model_analyzer.profile(graph, options=options)
    return int(profile.total_float_ops)
