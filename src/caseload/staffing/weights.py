"""Case weights from a time study (docs/domain.md §6): pure NumPy, no Django.

weight_t = officer minutes spent on cases of type t in a period ÷ case-months of type t.

The 90 % interval comes from a random-group bootstrap: each type's cases are dealt at random
into G groups (G = min(groups, cases)); the group totals of minutes and case-months are
independent and identically distributed, so resampling the G groups with replacement B times
and taking the 5th and 95th percentiles of Σ minutes* ÷ Σ case-months* reproduces the
sampling variability of the ratio estimator at the cost of G rather than N values per replicate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class WeightEstimate:
    case_type: str
    minutes_per_case_month: float
    low: float
    high: float
    case_months: float
    cases: int

    def as_dict(self) -> dict:
        return {
            "case_type": self.case_type,
            "minutes_per_case_month": round(self.minutes_per_case_month, 4),
            "low": round(self.low, 4),
            "high": round(self.high, 4),
            "case_months": round(self.case_months, 2),
        }


def case_months(opened: np.ndarray, closed: np.ndarray, start: np.datetime64, end: np.datetime64) -> np.ndarray:
    """Months each case was open within [start, end); ``closed`` may hold NaT (still open)."""
    begin = np.maximum(opened, start)
    finish = np.where(np.isnat(closed), end, np.minimum(closed, end))
    days = (finish - begin).astype("timedelta64[D]").astype(np.int64)
    return np.maximum(days, 0) / DAYS_PER_MONTH


def estimate(type_index: np.ndarray, type_names: list[str], months: np.ndarray, minutes: np.ndarray, *,
             groups: int = 2000, reps: int = 1000, level: float = 0.90, seed: int = 0) -> list[WeightEstimate]:
    """Weights with bootstrap intervals for every type that has case-months in the period.

    ``type_index[i]`` is case i's type (an index into ``type_names``), ``months[i]`` its
    case-months in the period and ``minutes[i]`` the officer minutes logged on it.
    """
    if not (len(type_index) == len(months) == len(minutes)):
        raise ValueError("type_index, months and minutes must have one entry per case")
    rng = np.random.default_rng(seed)
    tail = (1 - level) / 2
    order = np.argsort(type_index, kind="stable")
    bounds = np.searchsorted(type_index[order], np.arange(len(type_names) + 1))
    out: list[WeightEstimate] = []
    for t, name in enumerate(type_names):
        members = order[bounds[t]:bounds[t + 1]]
        total_months = float(months[members].sum())
        if total_months <= 0:
            continue
        total_minutes = float(minutes[members].sum())
        g = min(groups, len(members))
        label = rng.integers(0, g, len(members))
        group_minutes = np.bincount(label, weights=minutes[members], minlength=g)
        group_months = np.bincount(label, weights=months[members], minlength=g)
        pick = rng.integers(0, g, (reps, g))
        resampled_months = group_months[pick].sum(axis=1)
        ratios = group_minutes[pick].sum(axis=1) / np.where(resampled_months > 0, resampled_months, np.nan)
        low, high = np.nanquantile(ratios, [tail, 1 - tail])
        out.append(WeightEstimate(name, total_minutes / total_months, float(low), float(high), total_months, len(members)))
    return out
