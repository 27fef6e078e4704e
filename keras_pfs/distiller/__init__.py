"""The Distiller: trains a student segmenter from a frozen teacher with fit()."""

import keras
import tensorflow as tf
from keras import ops

from keras_pfs.config import DISTILL_PIXELS
from keras_pfs.distiller import batch_norm, checks, saving, tracking
from keras_pfs.distiller.terms import resolve_terms
from keras_pfs.losses.cross_entropy import segmentation_cross_entropy, valid_mask
from keras_pfs.losses.utils import match_grid
from keras_pfs.metrics import SegmentationIoU


@keras.saving.register_keras_serializable(package="keras_pfs")
class Distiller(keras.Model):
    """Distils a frozen segmentation teacher into a student through `fit()`.

    The student is trained on cross-entropy with the labels plus weighted
    distillation terms; by default the two of Shan (2019): pixel-wise feature
    similarities (`"pfs"`, on the `features` outputs) and knowledge-gap
    weighted pixel imitation (`"imitation"`, on the logits). Every term is
    computed per image and reduced over the GLOBAL batch
    (`tf.nn.compute_average_loss` semantics), so a step under
    `tf.distribute` with any number of replicas equals the single-device step.

    Both models map float32 images `(B, H, W, 3)` to
    `{"logits": (B, h, w, K), "features": (B, H', W', C)}` (see
    `keras_pfs.models`). Logits are resized to the labels' size. The teacher
    runs with `training=False` and is never updated; the student runs forward
    once per step.

    Under a mixed precision dtype policy the models compute in float16 or
    bfloat16 and the losses in float32; with `mixed_float16`, `compile()`
    wraps the optimizer in a `LossScaleOptimizer`, whose scaling
    `train_step` applies.

    `fit()` logs `loss`, `ce`, one entry per distillation term and
    `mean_iou`, on train and validation data. `call()` returns the student's
    logits; `distiller.student` is the trained model to save and export.

    Reference:
        Y. Shan, "Distilling Pixel-Wise Feature Similarities for Semantic
        Segmentation", arXiv:1910.14226, 2019.

    Args:
        student: the model to train.
        teacher: the trained model to imitate; frozen here. May be `None`
            for supervised training (no distillation losses).
        distillation_losses: dict `{name: DistillationLoss, registry name
            or constructor kwargs}` or a list of registry names (see
            `keras_pfs.losses.from_config`); defaults to
            `DEFAULT_DISTILLATION_LOSSES` of `keras_pfs.config`, `{"pfs":
            PixelSimilarityLoss(), "imitation": WeightedImitationLoss()}`.
            Empty: plain supervised training. Every loss is called the same
            way, `compute_loss(teacher_outputs, student_outputs, labels,
            mask)`, with float32 outputs and logits at the labels' size.
        loss_weights: dict `{name: weight}` for the distillation terms;
            missing names take `DEFAULT_LOSS_WEIGHTS` of `keras_pfs.config`
            (else 1.0).
        ce_weight: weight of the cross-entropy on the labels.
        ignore_class: void label id, left out of the cross-entropy and mIoU.
        distill_pixels: where the distillation terms apply: `"all"` (every
            pixel, void ones and images without labels included) or
            `"labeled"` (only pixels with a class label). It sets the `mask`
            every loss receives. Losses that need labels (IFVD's class
            prototypes) use labelled pixels only either way; `pseudo_label`
            needs `"all"`, as it acts where there is no label.
        synchronized_batch_norm: make the student's `BatchNormalization`
            layers compute batch statistics over all replicas, so that a
            multi-replica step equals the single-device step on the global
            batch (per-replica statistics would not). No effect on one device.
            On CPU devices, build `MirroredStrategy` with
            `cross_device_ops=tf.distribute.ReductionToOneDevice()` (as
            `keras_pfs.distribute.get_strategy("mirrored")` does): TF's
            default collective all-reduce can run the BatchNorm and gradient
            all-reduces in different orders on different replicas and abort.
            Under MultiWorkerMirroredStrategy it works as is. The flag is
            set only while the training step is traced: the student's own
            `synchronized` values (and so its saved config) are unchanged.

    Example:

    >>> teacher = keras_pfs.models.build_segmenter("tiny_resnet", 5)
    >>> student = keras_pfs.models.build_segmenter("tiny_mobile", 5)
    >>> distiller = Distiller(student=student, teacher=teacher)
    >>> distiller.compile(optimizer="adam")
    >>> distiller.fit(train_ds, validation_data=val_ds)  # doctest: +SKIP
    """

    def __init__(
        self,
        student,
        teacher,
        distillation_losses=None,
        loss_weights=None,
        ce_weight=1.0,
        ignore_class=255,
        distill_pixels="all",
        synchronized_batch_norm=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if distill_pixels not in DISTILL_PIXELS:
            raise ValueError(
                f"Distiller: distill_pixels={distill_pixels!r}; expected one of "
                f"{', '.join(repr(d) for d in DISTILL_PIXELS)}."
            )
        num_classes = checks.check_segmenters(student, teacher)
        if teacher is not None:
            # Set twice: a teacher reloaded frozen skips an unchanged value,
            # and would leave trainable the sublayers its layers create in
            # build() (keras-hub's ASPP, MiT blocks).
            teacher.trainable = True
            teacher.trainable = False
        self.student = student
        self.teacher = teacher
        self.synchronized_batch_norm = synchronized_batch_norm
        self.num_classes = num_classes
        self.ignore_class = ignore_class
        self.distill_pixels = distill_pixels
        self.ce_weight = ce_weight
        self.distillation_losses, self.loss_weights = resolve_terms(
            distillation_losses, loss_weights, teacher
        )
        self.trackers = tracking.loss_trackers(self.distillation_losses)
        self.iou = SegmentationIoU(num_classes, ignore_class=ignore_class)

    @property
    def metrics(self):
        return [*self.trackers.values(), self.iou]

    def compile(
        self,
        optimizer="rmsprop",
        loss=None,
        loss_weights=None,
        metrics=None,
        weighted_metrics=None,
        **kwargs,
    ):
        """Sets the optimizer (and `jit_compile`, `steps_per_execution`, ...);
        the loss and metrics are the Distiller's own.

        Keras would accept and then ignore `loss`, `loss_weights` and
        `metrics` here, so they are refused: the loss is set by the
        constructor (`ce_weight`, `distillation_losses`, `loss_weights`,
        `ignore_class`), and every term and `mean_iou` are logged.

        Args:
            optimizer: as in `keras.Model.compile`.
            loss: must be `None`.
            loss_weights: must be `None`.
            metrics: must be `None`.
            weighted_metrics: must be `None`.
            **kwargs: other arguments of `keras.Model.compile`.

        Example:

        >>> distiller.compile(optimizer="adamw", jit_compile=True)  # doctest: +SKIP
        """
        given = {
            "loss": loss,
            "loss_weights": loss_weights,
            "metrics": metrics,
            "weighted_metrics": weighted_metrics,
        }
        refused = sorted(name for name, value in given.items() if value is not None)
        if refused:
            raise ValueError(
                f"Distiller.compile: {', '.join(refused)} would be ignored; the "
                "loss is set by Distiller(ce_weight=..., distillation_losses=..., "
                "loss_weights=..., ignore_class=...), and the logs already hold "
                "every loss term and mean_iou. Pass only the optimizer and "
                "options such as jit_compile."
            )
        super().compile(optimizer=optimizer, **kwargs)
        # The Distiller has no variables of its own and its two models are
        # built: marked built, it is saved without Keras's "not yet built"
        # warning, and loading a checkpoint builds the optimizer (below).
        self.built = True

    def compile_from_config(self, config):
        # Keras skips a custom compile() when loading a checkpoint; without
        # this, the loaded Distiller has no optimizer state.
        self.compile(**keras.saving.deserialize_keras_object(config))
        self.optimizer.build(self.student.trainable_variables)

    def fit(self, *args, **kwargs):
        if not self.compiled:
            raise ValueError(
                "Distiller: call compile(optimizer=...) before fit(); the loss is "
                "the Distiller's own."
            )
        # Keras builds the optimizer before fit() only under a non-default
        # strategy; otherwise its slots are created in the first trace of
        # `train_step`, and tf.function then traces the whole step again.
        # Built on the variables train_step updates: a teacher loaded from a
        # Distiller checkpoint can keep trainable sublayers (a layer created
        # with trainable=False does not freeze the sublayers it makes later,
        # and setting False again is skipped as unchanged).
        if not self.optimizer.built:
            with self.distribute_strategy.scope():
                self.optimizer.build(self.student.trainable_variables)
        return super().fit(*args, **kwargs)

    def call(self, inputs, training=False):
        return self.student(inputs, training=training)["logits"]

    def _ce_scale(self, labeled):
        """Global batch size over the labelled images in it (1 when all are).

        Per-image CE times this factor, averaged over the global batch, is
        the mean CE over the batch's labelled images: images without labels
        dilute nothing, so the CE keeps its weight against the distillation
        terms whatever fraction of a batch is labelled. Counted over all
        replicas, so 1 and N replicas agree.
        """
        count = ops.sum(labeled)
        batch = ops.cast(ops.shape(labeled)[0], "float32")
        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            count = context.all_reduce("sum", count)
            batch = batch * context.num_replicas_in_sync
        return batch / ops.maximum(count, 1.0)

    def _unpack(self, data):
        """`(images, class-id labels)`; a batch of images alone gets labels
        that are void everywhere."""
        images, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        if labels is None:
            labels = ops.full(ops.shape(images)[:3], self.ignore_class, "int32")
        return images, checks.class_ids(labels, self.num_classes, self.ignore_class)

    def _terms(self, images, labels, student_outputs):
        """Per-image loss terms `{name: (B,)}`, the student's logits used for
        mIoU and the teacher's (`None` without distillation losses), both at
        the labels' size, and which images hold a labelled pixel (float
        `(B,)`)."""
        teacher_logits = None
        # Under a mixed precision policy the models compute in float16 or
        # bfloat16; the losses (squared cosine differences, KL, softmax) need
        # float32 to stay accurate, and are computed from float32 casts.
        logits = match_grid(labels, ops.cast(student_outputs["logits"], "float32"))
        labeled_pixels = valid_mask(labels, self.ignore_class)
        terms = {"ce": segmentation_cross_entropy(labels, logits, self.ignore_class)}
        if self.distillation_losses:
            teacher_outputs = self.teacher(images, training=False)
            teacher_logits = match_grid(
                labels, ops.cast(teacher_outputs["logits"], "float32")
            )
            teacher_outputs = {
                "logits": ops.stop_gradient(teacher_logits),
                "features": ops.stop_gradient(
                    ops.cast(teacher_outputs["features"], "float32")
                ),
            }
            student_view = {
                "logits": logits,
                "features": ops.cast(student_outputs["features"], "float32"),
            }
            mask = labeled_pixels
            if self.distill_pixels == "all":
                mask = ops.ones_like(labeled_pixels)
            for name, loss in self.distillation_losses.items():
                terms[name] = ops.cast(
                    loss.compute_loss(teacher_outputs, student_view, labels, mask),
                    "float32",
                )
        labeled = ops.max(labeled_pixels, axis=(1, 2))
        total = self.ce_weight * terms["ce"] * self._ce_scale(labeled)
        for name in self.distillation_losses:
            total = total + self.loss_weights[name] * terms[name]
        terms["loss"] = total
        return terms, logits, teacher_logits, labeled

    def loss_terms(self, images, labels, training=False):
        """Per-image loss terms of one batch, as the training step sees them,
        and the teacher's logits they were computed from.

        Args:
            images: float32 `(B, H, W, 3)`.
            labels: int `(B, H, W)` class ids, void = `ignore_class`, or
                `None` for images without labels.
            training: run the student in training mode (batch statistics),
                as `train_step` does; its BatchNorm moving statistics then
                move too.

        Returns:
            `(terms, teacher_logits)`: `terms` is `{"ce": (B,), <one entry
            per distillation loss>: (B,), "loss": (B,)}`, unweighted except
            `"loss"`, the weighted total whose mean over the batch is the
            training loss (its CE is scaled to the mean over the batch's
            labelled images, see `fit`); `teacher_logits` is float32
            `(B, H, W, K)` at the labels' size, or `None` without
            distillation losses.
        """
        images, labels = self._unpack((images, labels))
        student_outputs = self.student(images, training=training)
        terms, _, teacher_logits, _ = self._terms(images, labels, student_outputs)
        return terms, teacher_logits

    def train_step(self, data):
        images, labels = self._unpack(data)
        with tf.GradientTape() as tape:
            # Set only while the step is traced: the student's saved config
            # keeps its own values.
            with batch_norm.synchronized(self.student, self.synchronized_batch_norm):
                student_outputs = self.student(images, training=True)
            terms, logits, _, labeled = self._terms(images, labels, student_outputs)
            # Sum over this replica's images / the global batch: gradients are
            # summed over replicas, so this equals the single-device step.
            loss = tf.nn.compute_average_loss(terms["loss"])
            # Multiplied by the loss scale under mixed_float16 (compile() then
            # wraps the optimizer in a LossScaleOptimizer, whose apply()
            # divides the gradients by the same scale); else unchanged.
            scaled_loss = self.optimizer.scale_loss(loss)
        variables = self.student.trainable_variables
        gradients = tape.gradient(scaled_loss, variables)
        self.optimizer.apply(gradients, variables)
        return tracking.update_metrics(
            self.trackers, self.iou, terms, labels, logits, labeled
        )

    def test_step(self, data):
        images, labels = self._unpack(data)
        student_outputs = self.student(images, training=False)
        terms, logits, _, labeled = self._terms(images, labels, student_outputs)
        return tracking.update_metrics(
            self.trackers, self.iou, terms, labels, logits, labeled
        )

    def get_config(self):
        return {
            **super().get_config(),
            **saving.serialize_parts(
                self.student, self.teacher, self.distillation_losses
            ),
            "loss_weights": self.loss_weights,
            "ce_weight": self.ce_weight,
            "ignore_class": self.ignore_class,
            "distill_pixels": self.distill_pixels,
            "synchronized_batch_norm": self.synchronized_batch_norm,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**saving.deserialize_parts(config))
