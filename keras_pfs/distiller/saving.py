"""A Distiller's models and losses in its Keras config, and back."""

import keras

_MODELS = ("student", "teacher")


def serialize_parts(student, teacher, distillation_losses):
    """The config entries of the two models (the teacher may be `None`)
    and of the losses, `{name: serialized loss}`."""
    return {
        "student": keras.saving.serialize_keras_object(student),
        "teacher": teacher and keras.saving.serialize_keras_object(teacher),
        "distillation_losses": {
            name: keras.saving.serialize_keras_object(loss)
            for name, loss in distillation_losses.items()
        },
    }


def deserialize_parts(config):
    """A copy of a Distiller config with `serialize_parts`' entries turned
    back into models and losses."""
    config = dict(config)
    for key in _MODELS:
        if config[key] is not None:
            config[key] = keras.saving.deserialize_keras_object(config[key])
    config["distillation_losses"] = {
        name: keras.saving.deserialize_keras_object(loss)
        for name, loss in config["distillation_losses"].items()
    }
    return config
