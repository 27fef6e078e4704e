"""The client-facing model: uint8 images in, class ids and probabilities out."""

import keras
import tensorflow as tf
from keras import ops

INPUT_NAME = "images"


def _logits(outputs):
    return outputs["logits"] if isinstance(outputs, dict) else outputs


class _Predictions(keras.layers.Layer):
    """Logits to `{"class_ids", "probabilities"}`."""

    def call(self, logits):
        # keras.ops.argmax adds a BitwiseAnd (for -0.0) that LiteRT lacks.
        return {
            "class_ids": tf.argmax(logits, axis=-1, output_type=tf.int32),
            "probabilities": tf.nn.softmax(logits, axis=-1),
        }

    def compute_output_spec(self, logits):
        return {
            "class_ids": keras.KerasTensor(logits.shape[:-1], dtype="int32"),
            "probabilities": keras.KerasTensor(logits.shape, dtype="float32"),
        }


def build_serving_model(segmenter, input_size=None):
    """Wraps a segmenter so that clients send raw pixels and get labels back.

    Everything a client would otherwise have to reimplement (the float cast,
    softmax, argmax) lives in the graph, so the SavedModel and the .tflite
    file answer the same question as the Keras model. Normalisation is
    already inside every keras_pfs segmenter.

    Args:
        segmenter: a model from float32 images in 0..255 `(B, H, W, 3)` to
            logits `(B, H, W, K)` or a dict with a `"logits"` entry.
        input_size: `(height, width)` fixed in the input signature (LiteRT
            needs static shapes), or `None` for any size (SavedModel).

    Returns:
        A functional `keras.Model` from uint8 `images` `(B, H, W, 3)` to
        `{"class_ids": int32 (B, H, W), "probabilities": float32
        (B, H, W, K)}`.

    Example:

    >>> from keras_pfs import models
    >>> serving = build_serving_model(models.build_segmenter("tiny_mobile", 3))
    >>> sorted(serving.output)
    ['class_ids', 'probabilities']
    """
    height, width = input_size if input_size is not None else (None, None)
    images = keras.Input((height, width, 3), dtype="uint8", name=INPUT_NAME)
    logits = _logits(segmenter(ops.cast(images, "float32"), training=False))
    outputs = _Predictions(name="predictions")(logits)
    return keras.Model(images, outputs, name=f"{segmenter.name}_serving")
