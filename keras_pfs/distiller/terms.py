"""A Distiller's distillation terms: the loss objects and their weights."""

from keras_pfs import losses
from keras_pfs.config import DEFAULT_DISTILLATION_LOSSES, DEFAULT_LOSS_WEIGHTS


def resolve_terms(distillation_losses, loss_weights, teacher):
    """The distillation losses and the weight of each.

    Args:
        distillation_losses: as `Distiller` takes it (see
            `keras_pfs.losses.from_config`); `None` for
            `DEFAULT_DISTILLATION_LOSSES`.
        loss_weights: `{name: weight}` or `None`; names it leaves out take
            `DEFAULT_LOSS_WEIGHTS`, else 1.0.
        teacher: the teacher model, or `None` (then no loss may be named).

    Returns:
        `({name: DistillationLoss}, {name: float weight})`, both in the
        order of `distillation_losses`.

    Raises:
        ValueError: losses without a teacher, an unknown loss or bad
            arguments, or a weight naming no loss.
    """
    if distillation_losses is None:
        distillation_losses = DEFAULT_DISTILLATION_LOSSES
    if teacher is None and distillation_losses:
        raise ValueError(
            "Distiller: a teacher is required for distillation_losses "
            f"{sorted(distillation_losses)}; pass {{}} for supervised training."
        )
    built = losses.from_config(distillation_losses)
    loss_weights = dict(loss_weights or {})
    unknown = sorted(set(loss_weights) - set(built))
    if unknown:
        raise ValueError(
            f"Distiller: loss_weights names {unknown} that are not in "
            f"distillation_losses {sorted(built)}."
        )
    weights = {
        name: float(loss_weights.get(name, DEFAULT_LOSS_WEIGHTS.get(name, 1.0)))
        for name in built
    }
    return built, weights
