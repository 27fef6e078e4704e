"""Distillation losses, one module per family, looked up by name.

Every loss implements `DistillationLoss.compute_loss(teacher_outputs,
student_outputs, labels, mask)`. Adding a method is one module here, one entry
in `_REGISTRY` and one float64 reference in `tests/references.py`
(`LOSS_REFERENCES`), which runs it through the shared loss checks.
"""

from keras_pfs.losses.base import DistillationLoss
from keras_pfs.losses.channel_wise import ChannelWiseLoss, channel_wise_loss
from keras_pfs.losses.cross_entropy import (
    SegmentationCrossEntropy,
    segmentation_cross_entropy,
    valid_mask,
)
from keras_pfs.losses.intra_class_variation import (
    IntraClassVariationLoss,
    intra_class_variation_loss,
)
from keras_pfs.losses.pairwise_similarity import (
    PairwiseSimilarityLoss,
    pairwise_similarity_loss,
)
from keras_pfs.losses.pixel_kd import PixelKDLoss, pixel_kd_loss
from keras_pfs.losses.pixel_similarity import PixelSimilarityLoss, pixel_similarity_loss
from keras_pfs.losses.pseudo_label import PseudoLabelLoss, pseudo_label_loss
from keras_pfs.losses.weighted_imitation import (
    WeightedImitationLoss,
    knowledge_gap_weights,
    weighted_imitation_loss,
)

_REGISTRY = {
    "cwd": ChannelWiseLoss,
    "ifvd": IntraClassVariationLoss,
    "imitation": WeightedImitationLoss,
    "kd": PixelKDLoss,
    "pfs": PixelSimilarityLoss,
    "pseudo_label": PseudoLabelLoss,
    "skd": PairwiseSimilarityLoss,
}


def names():
    """Names accepted by `get`, sorted."""
    return sorted(_REGISTRY)


def get(name, **kwargs):
    """Builds the distillation loss registered under `name`.

    Args:
        name: a registry name (see `names()`), or a `DistillationLoss`
            instance, which is returned as is.
        **kwargs: constructor arguments of the loss class.

    Returns:
        A `DistillationLoss`.
    """
    if isinstance(name, DistillationLoss):
        return name
    if name not in _REGISTRY:
        raise ValueError(
            f"Unknown distillation loss {name!r}; known: {', '.join(names())}."
        )
    return _REGISTRY[name](**kwargs)


def from_config(spec):
    """Builds the distillation losses a config or a `Distiller` names.

    The one place where `distillation_losses` become loss objects: config
    validation (which builds them to check their arguments), the training
    run and the `Distiller` all call it.

    Args:
        spec: a config's `distillation_losses`, `{name: constructor kwargs}`
            with registry names as keys; a value may also be a registry name
            (`{"mine": "pfs"}`: the loss `"pfs"` with its defaults, logged as
            `"mine"`) or a `DistillationLoss`, kept as is. A list of registry
            names builds each with its defaults.

    Returns:
        `{name: DistillationLoss}`, in the order of `spec`.

    Raises:
        ValueError: `"distillation_losses[<name>]: <problem>"` for an
            unknown name or arguments its constructor refuses.

    Example:

    >>> sorted(from_config({"pfs": {}, "cwd": {"temperature": 2.0}}))
    ['cwd', 'pfs']
    """
    if not isinstance(spec, dict):
        spec = {name: name for name in spec}
    built = {}
    for name, value in spec.items():
        try:
            if isinstance(value, dict):
                built[name] = get(name, **value)
            else:
                built[name] = get(value)
        except (TypeError, ValueError) as error:
            raise ValueError(f"distillation_losses[{name!r}]: {error}") from None
    return built


__all__ = [
    "ChannelWiseLoss",
    "DistillationLoss",
    "IntraClassVariationLoss",
    "PairwiseSimilarityLoss",
    "PixelKDLoss",
    "PixelSimilarityLoss",
    "PseudoLabelLoss",
    "SegmentationCrossEntropy",
    "WeightedImitationLoss",
    "channel_wise_loss",
    "from_config",
    "get",
    "names",
    "intra_class_variation_loss",
    "knowledge_gap_weights",
    "pairwise_similarity_loss",
    "pixel_kd_loss",
    "pixel_similarity_loss",
    "pseudo_label_loss",
    "segmentation_cross_entropy",
    "valid_mask",
    "weighted_imitation_loss",
]
