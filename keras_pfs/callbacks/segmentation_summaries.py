"""TensorBoard summaries of a segmentation run: per-class IoU and panels."""

import math
import os

import keras
import numpy as np
import tensorflow as tf

from keras_pfs.data.palette import class_palette
from keras_pfs.metrics import SegmentationIoU
from keras_pfs.visualization import colorize, segmentation_panel


class SegmentationSummaries(keras.callbacks.Callback):
    """Writes per-class IoU scalars and prediction panels for TensorBoard.

    Every epoch, the per-class IoU of the model's `SegmentationIoU` metric
    (the validation split's when `fit()` has validation data, as Keras
    evaluates it last) is written as `iou/<class name>`. Every
    `panel_every` epochs, and after the last one, the same fixed validation
    images are drawn by `keras_pfs.visualization.segmentation_panel` (input,
    ground truth, teacher, student, knowledge-gap weights, PFS similarity
    maps) and written as the image summary `panels`; without a teacher the
    panel is input, ground truth and student. The summaries go to
    `log_dir/validation` (next to `keras.callbacks.TensorBoard`'s) when the
    epoch has validation logs, else `log_dir/train`.

    The model being fit is a `keras_pfs.Distiller`: its `SegmentationIoU`
    metric is read and its `student` and `teacher` are drawn.

    Args:
        log_dir: the TensorBoard log directory of the run.
        validation_data: a `tf.data.Dataset` of `(images, labels)` batches;
            its first `num_panels` images are drawn in the panels.
        class_names: names of the K classes; class ids stand in where it is
            shorter.
        ignore_class: void id of the labels.
        palette: the dataset's class colours (see
            `keras_pfs.data.class_palette`); `None`: a generic palette.
        num_panels: how many validation images are drawn.
        panel_every: draw the panels every this many epochs.
        write: False on workers that must not write (all but the chief).

    Example:

    >>> summaries = SegmentationSummaries("runs/x/logs", val_ds, ("sky", "road"))
    >>> distiller.fit(
    ...     train_ds, validation_data=val_ds, callbacks=[summaries]
    ... )  # doctest: +SKIP
    """

    def __init__(
        self,
        log_dir,
        validation_data,
        class_names=(),
        ignore_class=255,
        palette=None,
        num_panels=3,
        panel_every=5,
        write=True,
    ):
        super().__init__()
        if panel_every < 1:
            raise ValueError(f"panel_every must be >= 1, got {panel_every}.")
        self.log_dir = log_dir
        images, labels = next(iter(validation_data.unbatch().batch(num_panels)))
        self.images = np.asarray(images, np.float32)
        self.labels = np.asarray(labels)
        self.class_names = tuple(class_names)
        self.ignore_class = ignore_class
        self.palette = palette
        self.panel_every = panel_every
        self.write = write
        self._writers = {}

    def _writer(self, split):
        if split not in self._writers:
            self._writers[split] = tf.summary.create_file_writer(
                os.path.join(self.log_dir, split)
            )
        return self._writers[split]

    def _iou_metric(self):
        for metric in self.model.metrics:
            if isinstance(metric, SegmentationIoU):
                return metric
        raise ValueError(
            "SegmentationSummaries: the model has no SegmentationIoU metric; "
            "fit a keras_pfs.Distiller."
        )

    def _panels(self, num_classes):
        models = {"student": self.model.student}
        if self.model.teacher is not None:
            models = {"teacher": self.model.teacher, **models}
        outputs = {
            name: {
                key: np.asarray(value)
                for key, value in model(self.images, training=False).items()
            }
            for name, model in models.items()
        }
        palette = class_palette(num_classes, self.palette)
        panels = []
        for i, (image, label) in enumerate(zip(self.images, self.labels, strict=True)):
            if "teacher" in outputs:
                panel = segmentation_panel(
                    image,
                    label,
                    {
                        name: {k: v[i] for k, v in out.items()}
                        for name, out in outputs.items()
                    },
                    num_classes,
                    self.ignore_class,
                    student="student",
                    palette=palette,
                )
            else:
                prediction = outputs["student"]["logits"][i].argmax(-1)
                panel = np.concatenate(
                    [
                        np.clip(image, 0, 255).astype(np.uint8),
                        colorize(label, palette, self.ignore_class),
                        colorize(prediction, palette, self.ignore_class),
                    ],
                    axis=1,
                )
            panels.append(panel)
        return np.stack(panels)

    def on_epoch_end(self, epoch, logs=None):
        # Every worker reads the metric: under MultiWorkerMirroredStrategy
        # the read is a collective, and the chief alone would wait forever.
        per_class = np.asarray(self._iou_metric().per_class_iou())
        if not self.write:
            return
        split = (
            "validation" if any(k.startswith("val_") for k in logs or {}) else "train"
        )
        num_classes = len(per_class)
        last_epoch = epoch + 1 == self.params.get("epochs")
        with self._writer(split).as_default(step=epoch):
            for k, iou in enumerate(per_class):
                if not math.isnan(iou):
                    name = self.class_names[k] if k < len(self.class_names) else str(k)
                    tf.summary.scalar(f"iou/{name}", iou)
            if (epoch + 1) % self.panel_every == 0 or last_epoch:
                tf.summary.image(
                    "panels",
                    self._panels(num_classes),
                    max_outputs=len(self.images),
                )
        self._writer(split).flush()

    def on_train_end(self, logs=None):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}
