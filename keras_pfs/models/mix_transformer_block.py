"""keras-hub's MiT (SegFormer) encoder block, made reloadable from a `.keras` file."""

import keras

# keras-hub exports this layer only under its src tree (written against
# keras-hub 0.32.0; tests/test_keras_private.py checks it).
from keras_hub.src.models.mit.mit_layers import HierarchicalTransformerEncoder


@keras.saving.register_keras_serializable(package="keras_pfs")
class MixTransformerBlock(HierarchicalTransformerEncoder):
    """`HierarchicalTransformerEncoder` whose config loads back.

    keras-hub's `get_config` stores `mlp` (a `MixFFN`, which has no config)
    and `drop_prop` (for the `drop_prob` argument), and leaves out
    `sr_ratio` and `layer_norm_epsilon`, so a saved MiT or SegFormer could
    not be loaded, or would come back with the wrong attention shapes. This
    config holds exactly the constructor's arguments, read from the
    sublayers; everything else is keras-hub's. `from_keras_hub` switches the
    blocks of a wrapped segmenter to this class in place.

    Args:
        project_dim: width of the block's input and output.
        num_heads: attention heads.
        sr_ratio: sequence-reduction ratio of the attention's keys/values.
        drop_prob: drop-path (stochastic depth) rate.
        layer_norm_epsilon: epsilon of the two layer norms.
        **kwargs: other `keras.layers.Layer` arguments.

    Example:

    >>> block = MixTransformerBlock(project_dim=32, num_heads=1, sr_ratio=8)
    >>> block.get_config()["sr_ratio"]
    8
    """

    def get_config(self):
        # keras-hub's get_config is the broken one: start from Layer's.
        config = keras.layers.Layer.get_config(self)
        config.update(
            {
                "project_dim": self.project_dim,
                "num_heads": self.num_heads,
                "sr_ratio": self.attn.sr_ratio,
                "drop_prob": self.drop_path.rate,
                "layer_norm_epsilon": self.norm1.epsilon,
            }
        )
        return config
