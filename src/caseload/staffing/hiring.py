"""Hiring allocation as an exact integer programme (scipy.optimize.milp): pure, no Django.

Given each office's FTE need and officers on board, allocate N new officers to minimise, in
this order:

1. the largest remaining shortfall ratio  max_o (shortfall_o ÷ need_o), then
2. the total shortfall  Σ_o shortfall_o, and, among allocations equal on both,
3. Σ_o hires_o × on_board_o ÷ need_o: hires that no shortfall needs go where each officer
   carries the most workload,

where shortfall_o = max(0, need_o − on_board_o − hires_o). Optional constraints: a per-office
maximum (training capacity, office space) and a budget with a per-office cost of a hire.
The problem is solved lexicographically: first the smallest attainable maximum ratio z*, then
the smallest total shortfall s* subject to max ratio ≤ z*, then the tie-break subject to both
(each with a tolerance of 1e-9).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

TOLERANCE = 1e-9


@dataclass(frozen=True)
class Allocation:
    hires: np.ndarray
    max_shortfall_ratio: float
    total_shortfall: float

    def key(self) -> tuple[float, float]:
        return (round(self.max_shortfall_ratio, 9), round(self.total_shortfall, 9))


def evaluate(need: np.ndarray, on_board: np.ndarray, hires: np.ndarray) -> Allocation:
    shortfall = np.maximum(0.0, need - on_board - hires)
    ratio = np.divide(shortfall, need, out=np.zeros_like(shortfall, dtype=float), where=need > 0)
    return Allocation(np.asarray(hires, dtype=np.int64), float(ratio.max(initial=0.0)), float(shortfall.sum()))


def allocate(need, on_board, total_hires: int, *, max_per_office=None, cost=None, budget: float | None = None) -> Allocation:
    """The lexicographically optimal allocation of up to ``total_hires`` officers.

    All ``total_hires`` are placed unless a per-office maximum or the budget stops it; hires
    never increase a shortfall, so placing more is never worse.
    """
    need = np.asarray(need, dtype=float)
    on_board = np.asarray(on_board, dtype=float)
    n = len(need)
    if total_hires < 0:
        raise ValueError("the number of hires cannot be negative")
    upper = np.full(n, float(total_hires)) if max_per_office is None else np.minimum(np.asarray(max_per_office, dtype=float), total_hires)
    # Variables: hires h (n, integer), shortfall s (n, continuous ≥ 0), max ratio z (1).
    nv = 2 * n + 1
    h, s, z = slice(0, n), slice(n, 2 * n), 2 * n
    rows, lo, hi = [], [], []

    def row(coefs: dict, low: float, high: float) -> None:
        r = np.zeros(nv)
        for idx, value in coefs.items():
            r[idx] = value
        rows.append(r)
        lo.append(low)
        hi.append(high)

    for o in range(n):
        # s_o + h_o ≥ need_o − on_board_o
        row({n + o: 1.0, o: 1.0}, need[o] - on_board[o], np.inf)
        if need[o] > 0:  # s_o / need_o ≤ z
            row({n + o: 1.0 / need[o], z: -1.0}, -np.inf, 0.0)
    # Place as many hires as the limits allow: first find that number, then require it.
    placeable = int(min(total_hires, upper.sum()))
    if cost is not None and budget is not None:
        cost = np.asarray(cost, dtype=float)
        row({i: cost[i] for i in range(n)}, -np.inf, budget)
        placeable = _most_hires_within_budget(upper, cost, budget, placeable)
    row({i: 1.0 for i in range(n)}, placeable, placeable)
    integrality = np.r_[np.ones(n), np.zeros(n + 1)]
    bounds = Bounds(np.zeros(nv), np.r_[upper, np.full(n + 1, np.inf)])
    constraints = LinearConstraint(np.array(rows), lo, hi)

    first = milp(c=np.eye(nv)[z], constraints=constraints, integrality=integrality, bounds=bounds)
    _check(first, "maximum shortfall ratio")
    z_star = first.x[z]
    rows.append(np.eye(nv)[z])
    lo.append(-np.inf)
    hi.append(z_star + TOLERANCE)
    second = milp(c=np.r_[np.zeros(n), np.ones(n), 0.0], constraints=LinearConstraint(np.array(rows), lo, hi),
                  integrality=integrality, bounds=bounds)
    _check(second, "total shortfall")
    rows.append(np.r_[np.zeros(n), np.ones(n), 0.0])
    lo.append(-np.inf)
    hi.append(second.fun + TOLERANCE * max(1.0, abs(second.fun)))
    staffing_ratio = np.divide(on_board, need, out=np.full(n, 1e6), where=need > 0)
    third = milp(c=np.r_[staffing_ratio, np.zeros(n + 1)], constraints=LinearConstraint(np.array(rows), lo, hi),
                 integrality=integrality, bounds=bounds)
    best = third if third.status == 0 and third.x is not None else second
    hires = np.rint(best.x[h]).astype(np.int64)
    return evaluate(need, on_board, hires)


def _most_hires_within_budget(upper: np.ndarray, cost: np.ndarray, budget: float, cap: int) -> int:
    """Largest number of hires the budget can pay for: cheapest offices first (exact for unit hires)."""
    placed, spent = 0, 0.0
    for o in np.argsort(cost, kind="stable"):
        take = int(min(upper[o], cap - placed, (budget - spent) // cost[o] if cost[o] > 0 else upper[o]))
        placed += max(take, 0)
        spent += max(take, 0) * cost[o]
        if placed >= cap:
            break
    return placed


def _check(result, what: str) -> None:
    if result.status != 0 or result.x is None:
        raise RuntimeError(f"hiring allocation: the solver found no optimal {what} ({result.message})")


def proportional(docket_sizes, total_hires: int) -> np.ndarray:
    """The naive rule: hires in proportion to docket size (largest remainder)."""
    sizes = np.asarray(docket_sizes, dtype=float)
    if total_hires == 0 or sizes.sum() == 0:
        return np.zeros(len(sizes), dtype=np.int64)
    exact = total_hires * sizes / sizes.sum()
    base = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - base), kind="stable")
    base[order[: total_hires - int(base.sum())]] += 1
    return base


def brute_force(need, on_board, total_hires: int, *, max_per_office=None) -> Allocation:
    """Exhaustive search over every allocation of exactly the placeable hires (small instances only)."""
    need = np.asarray(need, dtype=float)
    on_board = np.asarray(on_board, dtype=float)
    n = len(need)
    upper = [total_hires] * n if max_per_office is None else [min(m, total_hires) for m in max_per_office]
    placeable = min(total_hires, sum(upper))
    best: Allocation | None = None
    for combo in itertools.product(*(range(u + 1) for u in upper)):
        if sum(combo) != placeable:
            continue
        candidate = evaluate(need, on_board, np.array(combo))
        if best is None or candidate.key() < best.key():
            best = candidate
    assert best is not None
    return best
