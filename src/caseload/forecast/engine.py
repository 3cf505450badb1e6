"""The backlog forecast: a monthly stock-and-flow Monte Carlo simulation (NumPy only, no Django).

The state is the number of open cases per office x priority band x cooperation tier x stage
(pending, appeal, final order), held for many repetitions at once: every array carries the
repetition as its first axis, so one month of all repetitions of a chunk is a few dozen array
operations. Each month, in this order:

1. tier changes move a country's share of its old tier's cases to the new tier;
2. officers: attrition among established officers, hires join in cohorts and reach full
   strength after the ramp-up period (a hire in its k-th month counts k / ramp_months);
3. flows out of the stock at the start of the month: pending -> appeal, final order, or closed
   (relief, terminated, departed, failed to report); appeal -> final order or closed; final
   order -> closed (departed, failed to report);
4. removals of final orders: a monthly hazard per office x band x tier, scaled by the office's
   staffing coverage relative to today's, and for the restricted tier capped by the national
   travel-document quota left in the quota year;
5. new cases arrive around the expected inflow, with an office's monthly total varying as a
   Poisson count would.

Every flow is its expected count (cases x monthly probability) rounded stochastically to a whole
number (floor(x + U), U uniform), bounded by the cases available, so every count stays whole and
cases are conserved exactly: cases in = cases out + change in stock, in every month, office and
repetition. Uncertainty between repetitions comes from parameter draws per repetition (one
log-normal multiplier on the transition rates, one on the removal hazard, one per office on the
inflow) and the monthly inflow noise; the rounding noise of large flows is small beside them, and
exact binomial draws would cost several times as much at 1,000 repetitions.

Repetitions run in chunks of :data:`CHUNK_REPS`; chunk ``i`` draws from the ``i``-th child of
``numpy.random.SeedSequence(seed)``, so the results depend on the seed and the number of
repetitions only, never on the executor (local, or a dask.distributed cluster) that ran them.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

STAGES = ("pending", "appeal", "final_order")
PENDING, APPEAL, FINAL = 0, 1, 2
# Transitions out of a stage, as columns of ``Model.rates``.
OUTCOMES = ("appeal", "final_order", "relief", "terminated", "departed", "failed_to_report")
APPEAL_OUT, FINAL_OUT, RELIEF, TERMINATED, DEPARTED, FAILED = range(len(OUTCOMES))
# What each stage can turn into (the order is the drawing order).
STAGE_OUTCOMES = {
    PENDING: (APPEAL_OUT, FINAL_OUT, RELIEF, TERMINATED, DEPARTED, FAILED),
    APPEAL: (FINAL_OUT, RELIEF, TERMINATED, DEPARTED, FAILED),
    FINAL: (DEPARTED, FAILED),
}
CLOSURES = ("relief", "terminated", "departed", "failed_to_report", "removed")
CHUNK_REPS = 200
PERCENTILES = (10, 50, 90)


@dataclass(frozen=True)
class TierChange:
    """From ``month`` (0 = the first forecast month) on, ``share`` of the cases of tier ``source``
    (per office x band: the country's share of that tier's cases there) belong to tier ``target``."""

    month: int
    source: int
    target: int
    share: np.ndarray  # (O, B)
    country: str = ""


@dataclass(frozen=True)
class Model:
    """Everything a simulation needs, as plain arrays (O offices, B bands, T tiers, S=3 stages, M months)."""

    offices: tuple[str, ...]
    bands: tuple[str, ...]
    tiers: tuple[str, ...]
    stock: np.ndarray                 # (O, B, T, S) open cases at the start
    inflow: np.ndarray                # (M, O, B, T, S) expected new cases per month
    rates: np.ndarray                 # (O, S, len(OUTCOMES)) monthly transition probabilities
    removal_hazard: np.ndarray        # (O, B, T) monthly removal probability of a final order at today's coverage
    weights: np.ndarray               # (O, B, T, S) officer minutes per case-month
    officers: np.ndarray              # (O,) officers on board at the start
    hires: np.ndarray                 # (M, O) hires joining in each month
    minutes_per_fte_month: float      # casework minutes an officer has a month (year value x 60 / 12)
    ramp_months: int = 6
    attrition_monthly: float = 0.0
    tier_changes: tuple[TierChange, ...] = ()
    restricted_tier: int | None = None
    quota_annual: float = float("inf")    # travel documents the restricted countries issue a year, nationally
    quota_left: float = float("inf")      # left in the quota year the forecast starts in
    quota_resets: tuple[int, ...] = ()    # months in which a new quota year starts
    coverage_elasticity: float = 1.0
    coverage_cap: float = 2.0
    rate_sigma: float = 0.0
    removal_sigma: float = 0.0
    inflow_sigma: float = 0.0
    labels: dict = field(default_factory=dict)

    @property
    def months(self) -> int:
        return int(self.inflow.shape[0])

    def check(self) -> None:
        """Shapes and ranges; raise ValueError naming the first inconsistency."""
        o, b, t = len(self.offices), len(self.bands), len(self.tiers)
        expected = {"stock": (o, b, t, 3), "rates": (o, 3, len(OUTCOMES)), "removal_hazard": (o, b, t),
                    "weights": (o, b, t, 3), "officers": (o,)}
        for name, shape in expected.items():
            if getattr(self, name).shape != shape:
                raise ValueError(f"{name} has shape {getattr(self, name).shape}, expected {shape}")
        if self.inflow.shape[1:] != (o, b, t, 3) or self.hires.shape != (self.months, o):
            raise ValueError("inflow and hires must cover the same months and offices")
        for stage, allowed in STAGE_OUTCOMES.items():
            if self.rates[:, stage, :].sum(axis=1).max() > 1 + 1e-9:
                raise ValueError(f"transition probabilities out of {STAGES[stage]} add up to more than 1")
            others = [k for k in range(len(OUTCOMES)) if k not in allowed]
            if others and np.any(self.rates[:, stage, others] != 0):
                raise ValueError(f"{STAGES[stage]} has a transition it cannot take")
        if np.any(self.removal_hazard < 0) or np.any(self.removal_hazard > 1):
            raise ValueError("removal hazard must be a probability")
        if np.any(self.stock < 0) or np.any(self.inflow < 0) or np.any(self.hires < 0):
            raise ValueError("cases and hires cannot be negative")


# --- Drawing ------------------------------------------------------------------------------------

def _round(rng: np.random.Generator, expected: np.ndarray) -> np.ndarray:
    """Whole counts with the given expectation: floor(x + U) with U uniform on [0, 1)."""
    u = rng.random(expected.shape, dtype=np.float32)
    u += expected
    return np.floor(u, out=u)


def _poisson_factor(rng: np.random.Generator, lam: np.ndarray) -> np.ndarray:
    """Multipliers that give totals ``lam`` the spread of a Poisson count (normal approximation),
    bounded below by 0: applied to every cell of an office, they make its month's inflow vary as
    a Poisson count of its expected size would."""
    z = rng.standard_normal(lam.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(lam > 0, np.maximum(1.0 + z / np.sqrt(np.where(lam > 0, lam, 1.0)), 0.0), 0.0)


def _lognormal(rng: np.random.Generator, sigma: float, shape: tuple) -> np.ndarray:
    """Multipliers with mean 1 (log-normal with log-sd ``sigma``); ones when sigma is 0."""
    if sigma <= 0:
        return np.ones(shape)
    return np.exp(sigma * rng.standard_normal(shape) - sigma * sigma / 2)


def _competing(rng: np.random.Generator, n: np.ndarray, probs: list[np.ndarray]) -> list[np.ndarray]:
    """Counts of competing outcomes: each its expected count n x p rounded stochastically, bounded
    by what the outcomes before it left, so they never add up to more than n."""
    out = []
    left = n
    for p in probs:
        x = np.minimum(_round(rng, n * p), left)
        out.append(x)
        left = left - x
    return out


# --- One chunk ------------------------------------------------------------------------------------

RECORDED = ("open_cases", "final_orders", "removals", "inflow", "closed", "workload_minutes", "available_minutes",
            "officers", "fte")


def coverage_today(model: Model) -> np.ndarray:
    """Available ÷ needed casework minutes per office at the start (inf where no work is needed)."""
    needed = (model.stock * model.weights).sum(axis=(1, 2, 3))
    available = model.officers * model.minutes_per_fte_month
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(needed > 0, available / np.where(needed > 0, needed, 1.0), np.inf)


def _workload(stock: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Minutes a month the open cases need, per repetition and office: (R, O); ``weights`` is
    (O, cells, 1), one batched matrix product per office."""
    r, o = stock.shape[:2]
    return np.matmul(stock.reshape(r, o, 1, -1), weights)[:, :, 0, 0].astype(np.float64)


def run_chunk(model: Model, reps: int, seed: np.random.SeedSequence) -> dict[str, np.ndarray]:
    """Simulate ``reps`` repetitions; every recorded figure has shape (reps, months, offices).

    Cases are held as float32 whole numbers (exact up to 16.7 million per cell); totals are
    summed in float64. Closing outcomes of a stage (relief, terminated, departed, failed to
    report) have the same effect on the stock and are drawn as one count.
    """
    rng = np.random.default_rng(seed)
    n_o = len(model.offices)
    months = model.months
    f32 = np.float32
    stock = np.broadcast_to(model.stock.astype(f32), (reps, *model.stock.shape)).copy()
    weights = np.ascontiguousarray(model.weights.reshape(n_o, -1, 1).astype(f32))
    # Inflow reaches few cells: draw it on those only (flat indexes into an office's cells).
    cells = int(np.prod(model.stock.shape[1:]))
    inflow_flat = model.inflow.reshape(months, n_o, cells).astype(f32)
    active = np.flatnonzero(inflow_flat.any(axis=(0, 1)))
    inflow_active = np.ascontiguousarray(inflow_flat[:, :, active])             # (M, O, K)
    rate_mult = _lognormal(rng, model.rate_sigma, (reps, 1, 1))
    removal_mult = _lognormal(rng, model.removal_sigma, (reps, 1, 1, 1))
    inflow_mult = _lognormal(rng, model.inflow_sigma, (reps, n_o, 1)).astype(f32)
    rates = np.clip(model.rates[None, :, :, :] * rate_mult[..., None], 0.0, 1.0)  # (R, O, S, K)
    closing = [RELIEF, TERMINATED, DEPARTED, FAILED]

    def per_cell(values: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(values[:, :, None, None].astype(f32))

    p_appeal = per_cell(rates[:, :, PENDING, APPEAL_OUT])
    p_final = per_cell(rates[:, :, PENDING, FINAL_OUT])
    p_close = per_cell(rates[:, :, PENDING, closing].sum(axis=-1))
    a_final = per_cell(rates[:, :, APPEAL, FINAL_OUT])
    a_close = per_cell(rates[:, :, APPEAL, closing].sum(axis=-1))
    f_close = per_cell(rates[:, :, FINAL, closing].sum(axis=-1))
    base_hazard = model.removal_hazard[None] * removal_mult                      # (R, O, B, T)
    established = np.broadcast_to(model.officers.astype(float), (reps, n_o)).copy()
    ramp = max(int(model.ramp_months), 1)
    cohorts = np.zeros((reps, ramp, n_o))  # cohorts[:, a] joined a months ago (a + 1 months of service)
    ramp_share = (np.arange(ramp) + 1.0) / ramp
    cov0 = np.minimum(coverage_today(model), 1.0)
    quota_left = np.full(reps, float(model.quota_left))
    out = {name: np.zeros((reps, months, n_o)) for name in RECORDED}
    resets = set(model.quota_resets)
    needed = _workload(stock, weights)

    for m in range(months):
        for change in model.tier_changes:
            if change.month == m:
                src = stock[:, :, :, change.source, :]
                moved = np.minimum(_round(rng, src * change.share[None, :, :, None].astype(f32)), src)
                stock[:, :, :, change.source, :] -= moved
                stock[:, :, :, change.target, :] += moved
                needed = _workload(stock, weights)
        if m in resets:
            quota_left[:] = model.quota_annual

        # Officers: attrition among the established, cohorts move up, this month's hires join.
        if model.attrition_monthly > 0:
            established -= np.minimum(_round(rng, established * model.attrition_monthly), established)
        established += cohorts[:, -1]
        cohorts[:, 1:] = cohorts[:, :-1]
        cohorts[:, 0] = model.hires[m]
        if ramp == 1:
            established += cohorts[:, 0]
            cohorts[:, 0] = 0
        fte = established + (cohorts * ramp_share[None, :, None]).sum(axis=1)
        headcount = established + cohorts.sum(axis=1)

        # Staffing coverage at the start of the month scales the removal hazard.
        available = fte * model.minutes_per_fte_month
        with np.errstate(divide="ignore", invalid="ignore"):
            cov = np.where(needed > 0, available / np.where(needed > 0, needed, 1.0), 1.0)
            factor = np.where(cov0 > 0, np.minimum(cov, 1.0) / np.where(cov0 > 0, cov0, 1.0), 1.0)
        factor = np.clip(factor, 0.0, model.coverage_cap) ** model.coverage_elasticity

        n_p, n_a, n_f = stock[..., PENDING], stock[..., APPEAL], stock[..., FINAL]
        to_appeal, to_final_p, closed_p = _competing(rng, n_p, [p_appeal, p_final, p_close])
        to_final_a, closed_a = _competing(rng, n_a, [a_final, a_close])
        (closed_f,) = _competing(rng, n_f, [f_close])
        left_final = n_f - closed_f
        hazard = np.clip(base_hazard * factor[:, :, None, None], 0.0, 1.0).astype(f32)
        removed = np.minimum(_round(rng, left_final * hazard), left_final)
        if model.restricted_tier is not None and np.isfinite(model.quota_annual):
            r = model.restricted_tier
            wanted = removed[:, :, :, r].sum(axis=(1, 2), dtype=np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                scale = np.where(wanted > quota_left, quota_left / np.where(wanted > 0, wanted, 1.0), 1.0)
            removed[:, :, :, r] = np.floor(removed[:, :, :, r] * scale[:, None, None].astype(f32))
            quota_left -= removed[:, :, :, r].sum(axis=(1, 2), dtype=np.float64)

        expected = inflow_active[m][None] * inflow_mult                          # (R, O, K)
        noise = _poisson_factor(rng, expected.sum(axis=2, dtype=np.float64)).astype(f32)
        new = _round(rng, expected * noise[:, :, None])

        n_p -= to_appeal + to_final_p + closed_p
        n_a += to_appeal - to_final_a - closed_a
        n_f += to_final_p + to_final_a - closed_f - removed
        flat = stock.reshape(reps, n_o, cells)
        flat[:, :, active] += new
        closed = closed_p + closed_a + closed_f + removed
        needed = _workload(stock, weights)

        out["open_cases"][:, m] = stock.sum(axis=(2, 3, 4), dtype=np.float64)
        out["final_orders"][:, m] = n_f.sum(axis=(2, 3), dtype=np.float64)
        out["removals"][:, m] = removed.sum(axis=(2, 3), dtype=np.float64)
        out["inflow"][:, m] = new.sum(axis=2, dtype=np.float64)
        out["closed"][:, m] = closed.sum(axis=(2, 3), dtype=np.float64)
        out["workload_minutes"][:, m] = needed
        out["available_minutes"][:, m] = available
        out["officers"][:, m] = headcount
        out["fte"][:, m] = fte
    return out


# --- All repetitions -------------------------------------------------------------------------------

def chunk_plan(reps: int, seed: int, chunk_reps: int = CHUNK_REPS) -> list[tuple[int, np.random.SeedSequence]]:
    """(repetitions, seed sequence) per chunk: fixed by (reps, seed, chunk size) alone."""
    if reps < 1 or chunk_reps < 1:
        raise ValueError("reps and chunk size must be at least 1")
    sizes = [chunk_reps] * (reps // chunk_reps) + ([reps % chunk_reps] if reps % chunk_reps else [])
    return list(zip(sizes, np.random.SeedSequence(seed).spawn(len(sizes)), strict=True))


@dataclass
class Result:
    model: Model
    reps: int
    seed: int
    figures: dict[str, np.ndarray]      # name -> (reps, months, offices)
    executor: str
    seconds: float


def simulate(model: Model, *, reps: int, seed: int, executor: str = "local", scheduler: str | None = None,
             workers: int = 2, chunk_reps: int = CHUNK_REPS, threads: int | None = None,
             progress: Callable[[int], None] | None = None) -> Result:
    """Run all repetitions, chunk by chunk, locally (in ``threads`` threads, default one per core
    up to two: NumPy releases the GIL in its array loops) or on a dask.distributed cluster."""
    model.check()
    started = time.perf_counter()
    plan = chunk_plan(reps, seed, chunk_reps)
    if executor == "local":
        parts = _run_local(model, plan, threads=threads, progress=progress)
    elif executor == "dask":
        parts = _run_dask(model, plan, scheduler=scheduler, workers=workers, progress=progress)
    else:
        raise ValueError(f"unknown executor {executor!r}")
    figures = {name: np.concatenate([p[name] for p in parts], axis=0) for name in RECORDED}
    return Result(model, reps, seed, figures, executor, time.perf_counter() - started)


def _run_local(model: Model, plan: list, *, threads: int | None,
               progress: Callable[[int], None] | None) -> list[dict]:
    import os
    from concurrent.futures import ThreadPoolExecutor

    threads = threads or min(2, os.cpu_count() or 1)
    if threads == 1 or len(plan) == 1:
        parts = []
        for size, seq in plan:
            parts.append(run_chunk(model, size, seq))
            if progress:
                progress(size)
        return parts
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="forecast") as pool:
        futures = [pool.submit(run_chunk, model, size, seq) for size, seq in plan]
        parts = []
        for future, (size, _) in zip(futures, plan, strict=True):   # in chunk order, whatever finishes first
            parts.append(future.result())
            if progress:
                progress(size)
    return parts


def _run_dask(model: Model, plan: list, *, scheduler: str | None, workers: int,
              progress: Callable[[int], None] | None) -> list[dict]:
    import logging

    from dask.distributed import Client, LocalCluster, as_completed

    quiet = logging.getLogger("distributed")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # the scheduler's and nanny's chatter would drown the command's stderr
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR)
        client = Client(cluster)
    try:
        shared = client.scatter(model, broadcast=True)
        futures = [client.submit(run_chunk, shared, size, seq, pure=False) for size, seq in plan]
        if progress:
            sizes = {f.key: size for f, (size, _) in zip(futures, plan, strict=True)}
            for done in as_completed(futures):
                progress(sizes[done.key])
        return client.gather(futures)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
        quiet.setLevel(level)


# --- Summaries --------------------------------------------------------------------------------------

def _ratio(num: np.ndarray, den: np.ndarray, scale: float = 1.0) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, scale * num / np.where(den > 0, den, 1.0), np.nan)


# Reported measures: name -> (how to compute it from the recorded figures, decimals).
MEASURES = {
    "open_cases": (lambda f, mpf: f["open_cases"], 0),
    "final_orders": (lambda f, mpf: f["final_orders"], 0),
    "removals": (lambda f, mpf: f["removals"], 0),
    "cases_per_officer": (lambda f, mpf: _ratio(f["open_cases"], f["officers"]), 1),
    "capacity_pct": (lambda f, mpf: _ratio(f["workload_minutes"], f["available_minutes"], 100.0), 1),
    "fte_need": (lambda f, mpf: f["workload_minutes"] / mpf, 1),
    "officers": (lambda f, mpf: f["fte"], 1),
    "overdue_hours": (lambda f, mpf: np.maximum(f["workload_minutes"] - f["available_minutes"], 0) / 60, 0),
}


def _value(v: float, digits: int) -> float | int | None:
    if not np.isfinite(v):
        return None
    return int(round(float(v))) if digits == 0 else round(float(v), digits)


def percentile_bands(figures: dict[str, np.ndarray], minutes_per_fte_month: float) -> dict[str, np.ndarray]:
    """name -> array (3, months, ...) of the p10 / p50 / p90 over repetitions (axis 0)."""
    out = {}
    for name, (compute, _) in MEASURES.items():
        values = compute(figures, minutes_per_fte_month)
        if np.isnan(values).any():  # e.g. cases per officer of an office without officers: no value
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                out[name] = np.nanpercentile(values, PERCENTILES, axis=0)
        else:
            out[name] = np.percentile(values, PERCENTILES, axis=0)
    return out


def _rows(bands: dict[str, np.ndarray], index: tuple = ()) -> list[dict]:
    months = next(iter(bands.values())).shape[1]
    rows = []
    for m in range(months):
        row: dict = {"month": m + 1}
        for name, (_, digits) in MEASURES.items():
            cell = bands[name][(slice(None), m, *index)]
            row[name] = {f"p{q}": _value(v, digits) for q, v in zip(PERCENTILES, cell, strict=True)}
        rows.append(row)
    return rows


def summarise(result: Result) -> dict:
    """National and per-office monthly percentile bands of every measure in :data:`MEASURES`."""
    f, model = result.figures, result.model
    with np.errstate(all="ignore"):
        national = percentile_bands({k: v.sum(axis=2) for k, v in f.items()}, model.minutes_per_fte_month)
        offices = percentile_bands(f, model.minutes_per_fte_month)
    return {"national": _rows(national),
            "by_office": [{"office": code, "months": _rows(offices, (i,))} for i, code in enumerate(model.offices)]}


def horizon_p50(result: Result, month: int) -> dict[str, int]:
    """Median open cases per office at ``month`` (1-based)."""
    values = np.percentile(result.figures["open_cases"][:, month - 1, :], 50, axis=0)
    return {code: int(round(v)) for code, v in zip(result.model.offices, values, strict=True)}


def conservation_gap(result: Result) -> np.ndarray:
    """open(m) - open(m-1) - inflow(m) + closed(m) per repetition, month and office: all zeros
    when no case is created or lost by the simulation itself."""
    f = result.figures
    start = result.model.stock.sum(axis=(1, 2, 3)).astype(float)
    previous = np.concatenate([np.broadcast_to(start, (f["open_cases"].shape[0], 1, len(start))),
                               f["open_cases"][:, :-1]], axis=1)
    return f["open_cases"] - previous - f["inflow"] + f["closed"]
