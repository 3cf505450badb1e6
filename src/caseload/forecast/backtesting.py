"""``caseload forecast backtest``: fit the removal flows on some removal extracts, score monthly
removals over the period of others, against a seasonal-naive forecast (docs/forecast.md).

The removal flow is a run-off model, as the forecast's removal step sees it: the removals in
month r of the people apprehended in month a are A_a x p_(r-a), where A_a is the number of
people of month a who will be removed and p_k the share removed k months after apprehension
(the lead-time distribution). Per cooperation tier (tier in force at the end of the fit period),
A and p are the Poisson maximum-likelihood fit to the fit period's removals by (apprehension
month, removal month), found by alternating the two closed-form updates (the chain-ladder
estimate). Only cells whose removal month lies in the fit period are observed, which is what
the extracts hold. Lags above :data:`MAX_LAG` months and rows without an apprehension date form
a tail, forecast at its mean over the last :data:`RECENT` fit months.

A test month's forecast adds the known apprehension months' expected run-off and, for the
apprehension months after the fit period, the mean A of the last :data:`RECENT` fit months.
National removals are the sum of the tiers' forecasts; each of the ten countries with the most
removals in the fit period is fitted alone with its tier's lead-time distribution.

Seasonal naive repeats the same calendar month of the fit period when the fit period holds it
(a fit of a year or more); when it does not, the month one test-period length earlier (with an
eight-month fit and a four-month test, June repeats February, ..., September repeats May).

The arithmetic is NumPy only; reading the files uses the extract importer's parser (no writes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAX_LAG = 36
RECENT = 3
ITERATIONS = 300
TOP_COUNTRIES = 10


# --- Pure arithmetic ---------------------------------------------------------------------------------

def month_index(days: np.ndarray) -> np.ndarray:
    """Months since year 0 of datetime64[D] values (NaT gives -1)."""
    months = days.astype("datetime64[M]").astype(np.int64) + 1970 * 12
    return np.where(np.isnat(days), -1, months)


def month_label(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


@dataclass
class RunOff:
    first_apprehension: int      # month index of A[0]
    A: np.ndarray                # (n,) removals to come per apprehension month
    p: np.ndarray                # (MAX_LAG + 1,) lead-time shares, sum 1
    tail: float                  # removals a month from the tail
    fit: tuple[int, int]         # first and last fit month

    def forecast(self, months: Sequence[int]) -> np.ndarray:
        future = float(self.A[-RECENT:].mean()) if len(self.A) else 0.0
        out = []
        last = self.first_apprehension + len(self.A) - 1
        for r in months:
            total = self.tail
            for k, share in enumerate(self.p):
                a = r - k
                if a < self.first_apprehension:
                    break
                total += share * (self.A[a - self.first_apprehension] if a <= last else future)
            out.append(total)
        return np.array(out)


def _cells(app: np.ndarray, rem: np.ndarray, fit: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Counts by (apprehension month, lag), the observed mask, the tail per fit month, and the first month."""
    m0, m1 = fit
    inside = (rem >= m0) & (rem <= m1)
    app, rem = app[inside], rem[inside]
    lag = rem - app
    runoff = (app >= 0) & (lag >= 0) & (lag <= MAX_LAG)
    first = m0 - MAX_LAG
    n = np.zeros((m1 - first + 1, MAX_LAG + 1))
    np.add.at(n, (app[runoff] - first, lag[runoff]), 1.0)
    a_idx = np.arange(n.shape[0])[:, None] + first
    observed = ((a_idx + np.arange(MAX_LAG + 1)[None, :]) >= m0) & ((a_idx + np.arange(MAX_LAG + 1)[None, :]) <= m1)
    tail = np.bincount(rem[~runoff] - m0, minlength=m1 - m0 + 1).astype(float)
    return n, observed, tail, first


def fit_runoff(app: np.ndarray, rem: np.ndarray, fit: tuple[int, int], p: np.ndarray | None = None) -> RunOff:
    """Fit A (and p unless given) to the removals of the fit period; ``app`` / ``rem`` are month indexes."""
    n, observed, tail, first = _cells(app, rem, fit)
    given = p is not None
    p = np.full(MAX_LAG + 1, 1.0 / (MAX_LAG + 1)) if p is None else p
    row_totals = n.sum(axis=1)
    col_totals = n.sum(axis=0)
    A = np.zeros(n.shape[0])
    for _ in range(1 if given else ITERATIONS):
        exposure = observed @ p
        A = np.where(exposure > 0, row_totals / np.where(exposure > 0, exposure, 1.0), 0.0)
        if given:
            break
        reach = A @ observed
        p = np.where(reach > 0, col_totals / np.where(reach > 0, reach, 1.0), 0.0)
        if p.sum() > 0:
            A, p = A * p.sum(), p / p.sum()
    return RunOff(first, A, p, float(tail[-RECENT:].mean()) if len(tail) else 0.0, fit)


def seasonal_naive(actual_fit: dict[int, float], months: Sequence[int], test_length: int) -> np.ndarray:
    """The same calendar month of the fit period, else the month one test length earlier, else the last fit month."""
    last = max(actual_fit)
    out = []
    for r in months:
        if r - 12 in actual_fit:
            out.append(actual_fit[r - 12])
        elif r - test_length in actual_fit:
            out.append(actual_fit[r - test_length])
        else:
            out.append(actual_fit[last])
    return np.array(out, dtype=float)


def mape(forecast: np.ndarray, actual: np.ndarray) -> float | None:
    """Mean absolute percentage error over the months with removals, in per cent (2 decimals)."""
    keep = actual > 0
    if not keep.any():
        return None
    return round(float(np.mean(np.abs(forecast[keep] - actual[keep]) / actual[keep]) * 100), 2)


def monthly(rem: np.ndarray, months: Sequence[int]) -> np.ndarray:
    lo = months[0]
    counts = np.bincount(rem[(rem >= lo) & (rem <= months[-1])] - lo, minlength=len(months))
    return counts.astype(float)


# --- Files ----------------------------------------------------------------------------------------

@dataclass
class Removals:
    apprehension: np.ndarray     # month index (-1 when unknown)
    removal: np.ndarray          # month index
    country: np.ndarray          # ISO code, or the extract's name when it maps to none ("" when blank)
    first_day: dt.date
    last_day: dt.date
    files: list[str]
    rejected: int


def read_removals(paths: Sequence[Path], *, what: str) -> Removals:
    """The removal rows of the given extract files (read with the importer's parser; nothing is written)."""
    from caseload.core.errors import UsageError
    from caseload.ingest import foia

    if not paths:
        raise UsageError("no_files", f"give at least one removal extract to {what}")
    app_days, rem_days, countries, rejected = [], [], [], 0
    for path in paths:
        inspection = foia.inspect(path)
        if inspection.kind.name != "removals":
            raise UsageError("not_removals", f"{path}: a {inspection.kind.name} extract; {what} takes removal extracts")
        parser = foia.Parser(inspection, file_id=0, office_ids={})
        names = parser.columns()
        i_app, i_rem = names.index("apprehension_date"), names.index("removal_date")
        i_cit, i_raw = names.index("citizenship"), names.index("citizenship_raw")
        for line, row in foia.data_rows(inspection):
            if isinstance(row, foia.RowError):
                rejected += 1
                continue
            try:
                values = parser.parse(line, row)
            except foia.RowError:
                rejected += 1
                continue
            app_days.append(values[i_app] or "NaT")
            rem_days.append(values[i_rem])
            countries.append(values[i_cit] or (values[i_raw] or ""))
    if not rem_days:
        raise UsageError("no_removals", f"the files given to {what} hold no removal rows")
    rem = np.array(rem_days, dtype="datetime64[D]")
    return Removals(month_index(np.array(app_days, dtype="datetime64[D]")), month_index(rem),
                    np.array(countries, dtype=object), rem.min().item(), rem.max().item(),
                    [str(p) for p in paths], rejected)


def _period(r: Removals) -> dict:
    return {"from": r.first_day.isoformat(), "to": r.last_day.isoformat(),
            "months": int(month_index(np.array([r.last_day], dtype="datetime64[D]"))[0]
                          - month_index(np.array([r.first_day], dtype="datetime64[D]"))[0] + 1),
            "removals": int(len(r.removal)), "files": r.files, "rows_rejected": r.rejected}


def backtest(fit_paths: Sequence[Path], test_paths: Sequence[Path], *,
             progress: Callable[[str], None] | None = None) -> dict:
    """Fit on ``fit_paths``, score monthly national and top-ten-country removals on ``test_paths``."""
    from caseload.core.errors import UsageError
    from caseload.countries.services import tiers_as_of

    say = progress or (lambda message: None)
    say("reading the fit extracts")
    fit = read_removals(fit_paths, what="--fit")
    say("reading the test extracts")
    test = read_removals(test_paths, what="--test")
    f0, f1 = int(fit.removal.min()), int(fit.removal.max())
    t0, t1 = int(test.removal.min()), int(test.removal.max())
    if t0 <= f1:
        raise UsageError("overlapping_periods", f"the test period ({month_label(t0)} to {month_label(t1)}) must start after "
                                                f"the fit period ({month_label(f0)} to {month_label(f1)})")
    test_months = list(range(t0, t1 + 1))
    tiers = tiers_as_of(fit.last_day)
    tier_of = np.array([tiers[c].tier if c in tiers else "cooperative" for c in fit.country], dtype=object)

    say("fitting the removal flows by tier")
    models: dict[str, RunOff] = {}
    national = np.zeros(len(test_months))
    for tier in sorted(set(tier_of)):
        rows = tier_of == tier
        models[tier] = fit_runoff(fit.apprehension[rows], fit.removal[rows], (f0, f1))
        national += models[tier].forecast(test_months)
    actual = monthly(test.removal, test_months)
    fit_actual = dict(zip(range(f0, f1 + 1), monthly(fit.removal, list(range(f0, f1 + 1))).tolist(), strict=True))
    naive = seasonal_naive(fit_actual, test_months, len(test_months))

    mapped = np.array([c in tiers for c in fit.country])
    codes, counts = np.unique(fit.country[mapped].astype(str), return_counts=True)
    top = [str(c) for c in codes[np.lexsort((codes, -counts))][:TOP_COUNTRIES]]
    by_country = []
    for code in top:
        rows = fit.country == code
        model = fit_runoff(fit.apprehension[rows], fit.removal[rows], (f0, f1), p=models[tiers[code].tier].p)
        c_actual = monthly(test.removal[test.country == code], test_months)
        c_fit = dict(zip(range(f0, f1 + 1), monthly(fit.removal[rows], list(range(f0, f1 + 1))).tolist(), strict=True))
        by_country.append({"country": code, "tier": tiers[code].tier, "fit_removals": int(rows.sum()),
                           "mape": mape(model.forecast(test_months), c_actual),
                           "seasonal_naive_mape": mape(seasonal_naive(c_fit, test_months, len(test_months)), c_actual)})
    return {
        "fit_period": _period(fit),
        "test_period": _period(test),
        "mape": mape(national, actual),
        "seasonal_naive_mape": mape(naive, actual),
        "by_country": by_country,
        "months": [{"month": month_label(m), "actual": int(a), "forecast": round(float(f), 1), "seasonal_naive": float(s)}
                   for m, a, f, s in zip(test_months, actual, national, naive, strict=True)],
        "method": "run-off (chain-ladder) fit of removals by apprehension month and lead time, per cooperation tier; "
                  f"lags up to {MAX_LAG} months; future apprehensions at the mean of the last {RECENT} fit months",
    }
