import keras
import numpy as np

from keras_pfs.losses import SegmentationCrossEntropy, segmentation_cross_entropy
from tests.loss_checks import assert_loss_round_trips
from tests.references import masked_mean, softmax


def test_matches_float64_reference_and_ignores_void():
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(2, 4, 5, 3))
    labels = rng.integers(0, 3, size=(2, 4, 5))
    labels[0, :2] = 255
    labels[1] = 255
    mask = (labels != 255).astype(float)
    probs = softmax(logits)
    picked = np.take_along_axis(probs, np.where(mask > 0, labels, 0)[..., None], -1)
    expected = masked_mean(-np.log(picked[..., 0]), mask)
    actual = segmentation_cross_entropy(labels, logits.astype("float32"), 255)
    np.testing.assert_allclose(actual, expected, rtol=1e-5)
    assert actual[1] == 0.0


def test_class_form_round_trips():
    loss = SegmentationCrossEntropy(ignore_class=11)
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert restored.ignore_class == 11


def test_saves_and_reloads_with_a_model(tmp_path):
    assert_loss_round_trips(
        SegmentationCrossEntropy(ignore_class=11, name="ce_test"), tmp_path
    )
