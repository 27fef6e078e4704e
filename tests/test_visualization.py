import numpy as np
import pytest

from keras_pfs.data import CAMVID_PALETTE, class_palette
from keras_pfs.visualization import colorize, segmentation_panel, similarity_map


def test_panel_layout_and_colours():
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 255, (16, 24, 3))
    label = rng.integers(0, 11, (16, 24))
    label[0] = 11
    outputs = {
        name: {
            "logits": rng.normal(size=(16, 24, 11)).astype("float32"),
            "features": rng.normal(size=(2, 3, width)).astype("float32"),
        }
        for name, width in (("teacher", 8), ("baseline", 4), ("distilled", 4))
    }
    panel = segmentation_panel(image, label, outputs, 11, 11, palette="camvid")
    # input, truth, three predictions, gap weights, two similarity maps
    assert panel.shape == (16, 24 * 8, 3) and panel.dtype == np.uint8
    truth = panel[:, 24:48]
    np.testing.assert_array_equal(truth[1:], CAMVID_PALETTE[label[1:]])
    assert np.all(colorize(label, CAMVID_PALETTE, 11)[0] == 0)


def test_similarity_map_is_cosine_to_the_chosen_pixel():
    features = np.random.default_rng(1).normal(size=(3, 4, 5))
    sim = similarity_map(features, (1, 2))
    v = features.reshape(-1, 5)
    v = v / np.linalg.norm(v, axis=1, keepdims=True)
    np.testing.assert_allclose(sim.ravel(), v @ v[6], rtol=1e-5)
    assert abs(sim[1, 2] - 1) < 1e-5


def test_palette_comes_from_the_config_not_the_class_count():
    generic = class_palette(11)
    assert generic.shape == (11, 3) and not np.array_equal(generic, CAMVID_PALETTE)
    np.testing.assert_array_equal(class_palette(11, "camvid"), CAMVID_PALETTE)
    np.testing.assert_array_equal(
        class_palette(2, [(1, 2, 3), (4, 5, 6), (7, 8, 9)]), [[1, 2, 3], [4, 5, 6]]
    )
    with pytest.raises(ValueError, match="at least 12"):
        class_palette(12, "camvid")
    with pytest.raises(ValueError, match="palette='mapillary' is unknown"):
        class_palette(3, "mapillary")
