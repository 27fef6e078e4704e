"""keras-pfs: distil semantic-segmentation networks with pixel-wise feature
similarities (Shan, 2019) in Keras 3 / TensorFlow."""

import os

# The Distiller's train_step is written with tf.GradientTape.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

__version__ = "0.1.0"

from keras_pfs import losses, metrics, models  # noqa: E402
from keras_pfs.distiller import Distiller  # noqa: E402

__all__ = ["Distiller", "losses", "metrics", "models"]
