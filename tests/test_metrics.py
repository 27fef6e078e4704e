import numpy as np

from keras_pfs.metrics import SegmentationIoU


def test_iou_matches_numpy_and_ignores_void():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, (2, 6, 7))
    labels[0, 0] = 255
    logits = rng.normal(size=(2, 6, 7, 3)).astype("float32")
    pred = logits.argmax(-1)
    metric = SegmentationIoU(3, ignore_class=255)
    metric.update_state(labels, logits)
    valid = labels != 255
    ious = []
    for k in range(3):
        inter = np.sum((pred == k) & (labels == k) & valid)
        union = np.sum(((pred == k) | (labels == k)) & valid)
        ious.append(inter / union)
    np.testing.assert_allclose(metric.per_class_iou(), ious, rtol=1e-6)
    np.testing.assert_allclose(float(metric.result()), np.mean(ious), rtol=1e-6)
