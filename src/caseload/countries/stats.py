"""Grouped order statistics over NumPy columns (no Django): medians and percentiles per group."""

from __future__ import annotations

import numpy as np


def grouped_percentiles(groups: np.ndarray, values: np.ndarray, qs: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Percentiles of ``values`` within each group, as ``numpy.percentile`` (linear) computes them.

    Returns (distinct groups in sorted order, count per group, array of shape (groups, len(qs))).
    One sort for all groups instead of one ``percentile`` call per group.
    """
    groups, values = np.asarray(groups), np.asarray(values, dtype=float)
    if len(groups) == 0:
        return groups[:0], np.zeros(0, dtype=np.int64), np.zeros((0, len(qs)))
    order = np.lexsort((values, groups))
    g, v = groups[order], values[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    counts = np.diff(np.r_[starts, len(g)])
    out = np.empty((len(starts), len(qs)))
    for j, q in enumerate(qs):
        pos = starts + (q / 100.0) * (counts - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, starts + counts - 1)
        frac = pos - lo
        out[:, j] = v[lo] + (v[hi] - v[lo]) * frac
    return g[starts], counts, out


def round_or_none(value: float | None, digits: int = 1) -> float | None:
    if value is None or not np.isfinite(value):
        return None
    return round(float(value), digits)
