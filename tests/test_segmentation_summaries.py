import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing import event_accumulator

from keras_pfs import Distiller
from keras_pfs.callbacks import SegmentationSummaries
from keras_pfs.data import class_palette, synthetic_dataset
from keras_pfs.models import build_segmenter

NUM_CLASSES = 3
NAMES = ("background", "disc", "square")


def _events(directory):
    accumulator = event_accumulator.EventAccumulator(
        str(directory), size_guidance={event_accumulator.TENSORS: 0}
    )
    accumulator.Reload()
    return accumulator


@pytest.mark.slow
def test_event_files_hold_per_class_iou_and_panels(tmp_path):
    data = dict(num_images=2, image_size=(32, 32), num_classes=NUM_CLASSES)
    train = synthetic_dataset("train", batch_size=2, **data)
    val = synthetic_dataset("val", batch_size=2, **data)
    distiller = Distiller(
        build_segmenter("tiny_mobile", NUM_CLASSES),
        build_segmenter("tiny_mobile", NUM_CLASSES),
    )
    distiller.compile(optimizer="adam")
    summaries = SegmentationSummaries(
        str(tmp_path), val, NAMES, palette="voc", num_panels=2, panel_every=5
    )
    history = distiller.fit(
        train, validation_data=val, epochs=2, callbacks=[summaries], verbose=0
    )

    events = _events(tmp_path / "validation")
    per_class = {
        name: [
            float(tf.make_ndarray(e.tensor_proto))
            for e in events.Tensors(f"iou/{name}")
        ]
        for name in NAMES
    }
    assert all(len(values) == 2 for values in per_class.values())
    # The scalars are the IoUs of the validation pass fit() made: their mean
    # is the val_mean_iou it logged.
    for epoch in range(2):
        np.testing.assert_allclose(
            np.mean([values[epoch] for values in per_class.values()]),
            history.history["val_mean_iou"][epoch],
            rtol=1e-5,
        )
    # panel_every=5 > epochs: panels are drawn once, after the last epoch.
    panels = events.Tensors("panels")
    assert [e.step for e in panels] == [1]
    encoded = tf.make_ndarray(panels[0].tensor_proto)
    width, height = (int(v) for v in encoded[:2])
    assert len(encoded) == 2 + 2  # width, height, then one PNG per image
    # input, truth, teacher, student, gap weights, two similarity maps
    assert (height, width) == (32, 32 * 7)
    picture = tf.io.decode_png(encoded[2]).numpy()
    _, labels = next(iter(val))
    truth = picture[:, 32:64]
    valid = labels[0].numpy() != 255
    np.testing.assert_array_equal(
        truth[valid], class_palette(NUM_CLASSES, "voc")[labels[0].numpy()[valid]]
    )
