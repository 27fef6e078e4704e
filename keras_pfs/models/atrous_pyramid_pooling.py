"""keras-hub's ASPP layer, made reloadable from a `.keras` file."""

import keras

# keras-hub exports this layer only under its src tree (written against
# keras-hub 0.32.0; tests/test_keras_private.py checks it).
from keras_hub.src.models.deeplab_v3.deeplab_v3_layers import SpatialPyramidPooling


@keras.saving.register_keras_serializable(package="keras_pfs")
class AtrousPyramidPooling(SpatialPyramidPooling):
    """`SpatialPyramidPooling` (ASPP), reloadable and inference by default.

    Two fixes, everything else is keras-hub's:
    - keras-hub's `build` concatenates `input_shape[:-1]` with a tuple; on
      reload Keras passes the stored shape as a list, which raises
      `TypeError`, so a saved model could not be loaded.
    - keras-hub's `call` takes no `training` argument, and with
      `training=None` its inner BatchNorms ran on batch statistics, so
      `model(x)` differed from `model.predict(x)`. Declaring `training`
      with default `False` puts the inner layers in inference mode unless
      the caller asks for training.

    Args:
        dilation_rates: dilation rates of the parallel 3x3 convolutions.
        num_channels: output width.
        **kwargs: other `SpatialPyramidPooling` arguments.

    Example:

    >>> aspp = AtrousPyramidPooling(dilation_rates=[6, 12, 18], num_channels=64)
    """

    def build(self, input_shape):
        super().build(tuple(input_shape))

    def call(self, inputs, training=False):
        return super().call(inputs)
