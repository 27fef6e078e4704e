"""Paired differences between rows of a comparison, with 95% t-intervals.

Two rows are paired by seed: one seed is the same initial student and the
same batches in both, so the per-seed difference removes most of the
seed-to-seed spread.
"""

import numpy as np

# Two-sided 95% Student-t quantiles t_{0.975, df}, df = 1..30.
_T975 = (
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
)


def paired(ours, other):
    """Per-seed differences in mIoU points, their mean and 95% t-interval."""
    seeds = sorted(set(ours) & set(other))
    diffs = [100 * (ours[s]["miou"] - other[s]["miou"]) for s in seeds]
    out = {
        "seeds": seeds,
        "diff": diffs,
        "mean": float(np.mean(diffs)) if diffs else None,
    }
    if len(diffs) >= 2:
        half = _T975[min(len(diffs) - 1, 30) - 1] * np.std(diffs, ddof=1)
        half /= np.sqrt(len(diffs))
        out["ci95"] = [out["mean"] - half, out["mean"] + half]
    return out
