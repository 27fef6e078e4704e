"""Our distillation losses inside the stock `keras.distillation.Distiller`."""

import keras
from keras import ops

from keras_pfs import losses as losses_lib
from keras_pfs.losses.intra_class_variation import IntraClassVariationLoss


@keras.saving.register_keras_serializable(package="keras_pfs")
class KerasDistillationLoss(keras.distillation.DistillationLoss):
    """Adapts one of our losses to `keras.distillation.Distiller` (Keras 3.12+).

    The stock Distiller hands a distillation loss the teacher's and the
    student's whole outputs and nothing else, so with our two-output models
    (`{"logits", "features"}`, see `keras_pfs.models`) the wrapped loss gets
    both maps, every pixel counted as valid (there is no ignore mask), and
    the mean of its per-image values over the batch. Losses that need the
    labels (`"ifvd"`) cannot be adapted. Both models must also have
    features of the same width, which the stock Distiller checks; our
    `keras_pfs.Distiller` has neither limit.

    Args:
        loss: a registry name (`keras_pfs.losses.names()`) or a
            `keras_pfs.losses.DistillationLoss`.
        **loss_kwargs: constructor arguments of the loss, with a name.

    Example:

    >>> distiller = keras.distillation.Distiller(
    ...     teacher=teacher,
    ...     student=student,
    ...     distillation_losses=[KerasDistillationLoss("pfs")],
    ...     student_loss_weight=0.0,
    ... )  # doctest: +SKIP
    """

    def __init__(self, loss, **loss_kwargs):
        if isinstance(loss, dict):  # from get_config
            loss = keras.saving.deserialize_keras_object(loss)
        self.loss = losses_lib.get(loss, **loss_kwargs)
        if isinstance(self.loss, IntraClassVariationLoss):
            raise ValueError(
                f"KerasDistillationLoss: {type(self.loss).__name__} needs the "
                "labels, which keras.distillation.Distiller does not give its "
                "distillation losses; use keras_pfs.Distiller."
            )

    def validate_outputs(self, teacher_outputs, student_outputs):
        for role, outputs in (
            ("teacher", teacher_outputs),
            ("student", student_outputs),
        ):
            if not isinstance(outputs, dict) or not {"logits", "features"} <= set(
                outputs
            ):
                raise ValueError(
                    f"KerasDistillationLoss: the {role} must return a dict with "
                    "'logits' and 'features' (see keras_pfs.models), got "
                    f"{type(outputs).__name__}."
                )

    def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        del kwargs
        # As in keras_pfs.Distiller: losses in float32, the teacher constant.
        teacher = {
            key: ops.stop_gradient(ops.cast(teacher_outputs[key], "float32"))
            for key in ("logits", "features")
        }
        student = {
            key: ops.cast(student_outputs[key], "float32")
            for key in ("logits", "features")
        }
        mask = ops.ones(ops.shape(student["logits"])[:3], "float32")
        return ops.mean(self.loss.compute_loss(teacher, student, None, mask))

    def get_config(self):
        return {"loss": keras.saving.serialize_keras_object(self.loss)}
