"""Caseload balancing inside one office over counts per (officer, case type): pure, no Django.

Capacity % of an officer = weighted load ÷ available minutes, where weighted load = Σ_t cases_t ×
weight_t (minutes per case-month) and available minutes are the officer's monthly casework time.

:func:`solve` uses OR-Tools CP-SAT, lexicographically:

1. minimise M, the largest capacity % among officers who can take cases (within ``max_moves``);
2. with max capacity % ≤ M* × (1 + ``tolerance``), minimise the number of cases moved, starting
   from a constructive solution (heaviest cases first from the officers above the target into
   those below it). The lower bound on the moves is the larger of the solver's proven bound and
   the shedding bound (each officer above the target must lose at least as many cases as its
   heaviest cases it takes to bring its load down to the target; one move relieves one officer);
   both bound the moves needed to reach any maximum ≤ the target. The bound reported is taken
   at the maximum actually achieved (≤ the target, so at least as high): it says how far the
   moves are from the fewest that reach the balance delivered, not a relaxed one;
3. with that many moves, minimise moves of "sticky" cases (a check-in in the next 7 days), so
   continuity is broken only where needed.

Rules respected: officers who cannot take cases (on leave, on detail) neither give nor receive;
a gated case type (e.g. national security) is never moved to an officer without the
certification; per-type counts are conserved. :func:`greedy` is the fallback and the test oracle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

WEIGHT_SCALE = 1000        # weights (minutes per case-month) as integers in thousandths
CAPACITY_SCALE = 10_000    # capacity as integers in hundredths of a percent


@dataclass
class Problem:
    counts: np.ndarray          # (officers, types) current cases
    weights: np.ndarray         # (types,) minutes per case-month
    available: np.ndarray       # (officers,) casework minutes per month
    eligible: np.ndarray        # (officers,) bool: may give and receive cases
    certified: np.ndarray       # (officers,) bool: holds the certification gated types need
    gated: np.ndarray           # (types,) bool: needs the certification
    sticky: np.ndarray          # (types,) bool: a check-in within the continuity window

    def loads(self, counts: np.ndarray | None = None) -> np.ndarray:
        c = self.counts if counts is None else counts
        return c @ self.weights

    def capacity(self, counts: np.ndarray | None = None) -> np.ndarray:
        """Capacity % per officer (eligible officers only; NaN for the others)."""
        cap = 100.0 * self.loads(counts) / np.where(self.available > 0, self.available, np.nan)
        return np.where(self.eligible, cap, np.nan)

    def figures(self, counts: np.ndarray | None = None) -> dict:
        cap = self.capacity(counts)
        cap = cap[~np.isnan(cap)]
        if not len(cap):
            return {"max_capacity_pct": None, "max_over_mean": None}
        return {"max_capacity_pct": round(float(cap.max()), 2),
                "max_over_mean": round(float(cap.max() / cap.mean()), 4) if cap.mean() > 0 else None}


@dataclass
class Solution:
    counts: np.ndarray
    moves: int
    lower_bound_moves: int
    method: str
    status: str
    details: dict = field(default_factory=dict)


def moves_between(before: np.ndarray, after: np.ndarray) -> int:
    return int(np.maximum(before - after, 0).sum())


def _can_receive(p: Problem) -> np.ndarray:
    """(officers, types) bool: may this officer receive cases of this type?"""
    return p.eligible[:, None] & (~p.gated[None, :] | p.certified[:, None])


def solve(p: Problem, *, max_moves: int | None = None, time_limit: float = 15.0, workers: int = 2,
          tolerance: float = 0.001) -> Solution:
    from ortools.sat.python import cp_model

    n_off, n_types = p.counts.shape
    totals = p.counts.sum(axis=0)
    w = np.rint(p.weights * WEIGHT_SCALE).astype(np.int64)
    avail = np.rint(p.available).astype(np.int64)
    receive = _can_receive(p)
    movers = np.flatnonzero(p.eligible & (avail > 0))
    if len(movers) < 2:
        return Solution(p.counts.copy(), 0, 0, "none", "nothing to balance")

    model = cp_model.CpModel()
    y, out = {}, {}
    for i in range(n_off):
        for t in range(n_types):
            current = int(p.counts[i, t])
            if not p.eligible[i] or totals[t] == 0:
                continue
            hi = int(totals[t]) if receive[i, t] else current
            y[i, t] = model.NewIntVar(0, hi, f"y{i}_{t}")
            out[i, t] = model.NewIntVar(0, current, f"o{i}_{t}")
            model.Add(out[i, t] >= current - y[i, t])
    for t in range(n_types):
        keys = [(i, t) for i in range(n_off) if (i, t) in y]
        if keys:
            model.Add(sum(y[k] for k in keys) == int(p.counts[[i for i, _ in keys], t].sum()))
    cap_hi = int(CAPACITY_SCALE * 100 * max(1.0, float(np.nanmax(p.capacity()[movers]) / 100 + 1)))
    m = model.NewIntVar(0, cap_hi, "max_capacity")
    for i in movers:
        load = sum(int(w[t]) * y[i, t] for t in range(n_types) if (i, t) in y)
        # load / (avail × WEIGHT_SCALE) × 100 × CAPACITY_SCALE ≤ m, kept in integers
        model.Add(load * 100 * CAPACITY_SCALE <= m * int(avail[i]) * WEIGHT_SCALE)
    all_out = [out[k] for k in out]
    if max_moves is not None:
        model.Add(sum(all_out) <= max_moves)

    solver = cp_model.CpSolver()
    solver.parameters.num_workers = workers
    solver.parameters.max_time_in_seconds = time_limit * 0.4
    model.Minimize(m)
    warm = greedy(p, max_moves=max_moves).counts  # a good first incumbent for step 1
    for (i, t), var in y.items():
        model.AddHint(var, int(warm[i, t]))
    status1 = solver.Solve(model)
    if status1 not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return _fallback(p, max_moves, "step 1 found no solution")
    best_m = int(solver.Value(m))
    target = int(np.floor(best_m * (1 + tolerance)))
    start = constructive(p, target / CAPACITY_SCALE)
    shedding = shedding_lower_bound(p, target / CAPACITY_SCALE)
    model.Add(m <= target)

    if start is not None and moves_between(p.counts, start) <= shedding and (max_moves is None or shedding <= max_moves):
        # The constructive solution meets the lower bound: it is optimal, no search needed.
        return _finish(p, model, solver, y, out, all_out, start, shedding, status1, "bound met", best_m, target, shedding,
                       time_limit)
    model.ClearObjective()
    model.Minimize(sum(all_out))
    model.ClearHints()
    hint = start if start is not None else _read(p, y, solver)
    for (i, t), var in y.items():
        model.AddHint(var, int(hint[i, t]))
    solver.parameters.max_time_in_seconds = time_limit * 0.45
    status2 = solver.Solve(model)
    if status2 not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        if start is not None:
            return Solution(start, moves_between(p.counts, start), shedding, "constructive", "cp-sat found no better solution")
        return _fallback(p, max_moves, "step 2 found no solution")
    lower = max(shedding, int(np.ceil(solver.BestObjectiveBound() - 1e-6)))
    names = {cp_model.OPTIMAL: "optimal", cp_model.FEASIBLE: "feasible"}
    return _finish(p, model, solver, y, out, all_out, _read(p, y, solver), lower, status1, names[status2], best_m, target,
                   shedding, time_limit, constructive_moves=moves_between(p.counts, start) if start is not None else None)


def _finish(p, model, solver, y, out, all_out, counts, lower, status1, moves_status, best_m, target, shedding,
            time_limit, constructive_moves=None) -> Solution:
    """Step 3: with the moves fixed, prefer moving cases without a check-in in the window."""
    from ortools.sat.python import cp_model

    best_moves = moves_between(p.counts, counts)
    achieved = float(np.nanmax(p.capacity(counts)))
    lower = max(lower, shedding_lower_bound(p, achieved + 1e-9))   # the bound at the balance delivered
    sticky_out = [out[i, t] for (i, t) in out if p.sticky[t]]
    status3 = None
    if sticky_out and best_moves > 0:
        model.ClearObjective()
        model.ClearHints()
        for (i, t), var in y.items():
            model.AddHint(var, int(counts[i, t]))
        model.Add(sum(all_out) <= best_moves)
        model.Minimize(sum(sticky_out))
        solver.parameters.max_time_in_seconds = time_limit * 0.15
        status3 = solver.Solve(model)
        if status3 in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            counts = _read(p, y, solver)
    names = {cp_model.OPTIMAL: "optimal", cp_model.FEASIBLE: "feasible"}
    return Solution(counts, moves_between(p.counts, counts), lower, "cp-sat",
                    status=f"max capacity {names.get(status1, '?')}, moves {moves_status}",
                    details={"target_capacity_pct": target / CAPACITY_SCALE,
                             "achieved_capacity_pct": round(achieved, 4),
                             "min_max_capacity_pct": best_m / CAPACITY_SCALE,
                             "shedding_lower_bound": shedding,
                             "constructive_moves": constructive_moves,
                             "sticky_moves": int(np.maximum(p.counts - counts, 0)[:, p.sticky].sum()) if p.sticky.any() else 0,
                             "sticky_step": names.get(status3, "skipped")})


def _type_order(p: Problem) -> list[int]:
    """Heaviest types first; among equal weights, cases without a check-in soon first."""
    return sorted(range(len(p.weights)), key=lambda t: (-p.weights[t], p.sticky[t]))


def shedding_lower_bound(p: Problem, target_pct: float) -> int:
    """Σ over officers above ``target_pct`` of the fewest cases whose weights cover their excess."""
    total = 0
    cap = target_pct / 100 * p.available
    loads = p.loads()
    weights_desc = np.sort(np.unique(p.weights))[::-1]
    for i in np.flatnonzero(p.eligible & (loads > cap + 1e-9)):
        excess = loads[i] - cap[i]
        for wt in weights_desc:
            if wt <= 0:
                break
            have = int(p.counts[i, p.weights == wt].sum())
            take = min(have, int(np.ceil(excess / wt - 1e-9)))
            total += take
            excess -= take * wt
            if excess <= 1e-9:
                break
    return total


def constructive(p: Problem, target_pct: float) -> np.ndarray | None:
    """Shed heaviest cases from officers above the target into officers with room; None if some
    load cannot be placed within the target."""
    counts = p.counts.copy()
    cap = target_pct / 100 * p.available
    receive = _can_receive(p)
    loads = counts @ p.weights
    active = p.eligible & (p.available > 0)
    for i in np.flatnonzero(active & (loads > cap + 1e-9)):
        for t in _type_order(p):
            excess = loads[i] - cap[i]
            if excess <= 1e-9:
                break
            wt = p.weights[t]
            if wt <= 0 or counts[i, t] == 0:
                continue
            want = min(int(counts[i, t]), int(np.ceil(excess / wt - 1e-9)))
            for j in np.argsort(-(cap - loads)):  # receivers with the most room first
                if want == 0:
                    break
                if j == i or not active[j] or not receive[j, t]:
                    continue
                room = int((cap[j] - loads[j] + 1e-9) // wt)
                k = min(want, room)
                if k <= 0:
                    continue
                counts[i, t] -= k
                counts[j, t] += k
                loads[i] -= k * wt
                loads[j] += k * wt
                want -= k
    if np.any(loads[active] > cap[active] + 1e-6):
        return None
    return counts


def _hint(model, y, solver) -> None:
    model.ClearHints()
    for key, var in y.items():
        model.AddHint(var, solver.Value(var))


def _read(p: Problem, y, solver) -> np.ndarray:
    counts = p.counts.copy()
    for (i, t), var in y.items():
        counts[i, t] = solver.Value(var)
    return counts


def _fallback(p: Problem, max_moves: int | None, why: str) -> Solution:
    sol = greedy(p, max_moves=max_moves)
    sol.details["fallback_reason"] = why
    return sol


def greedy(p: Problem, *, max_moves: int | None = None, max_steps: int = 100_000,
           stop_at_pct: float | None = None) -> Solution:
    """Move cases from the officer with the highest capacity % to the one with the lowest, as long
    as the pair's larger capacity % falls; non-sticky cases before sticky ones, heavier types first.
    With ``stop_at_pct``, stop as soon as the largest capacity % is at most that figure (the moves
    the heuristic needs to reach a given balance)."""
    counts = p.counts.copy()
    receive = _can_receive(p)
    avail = np.where(p.available > 0, p.available, np.nan)
    active = p.eligible & (p.available > 0)
    budget = np.inf if max_moves is None else max_moves
    moved = 0
    type_order = sorted(range(len(p.weights)), key=lambda t: (p.sticky[t], -p.weights[t]))
    for _ in range(max_steps):
        cap = np.where(active, counts @ p.weights / avail, np.nan)
        if np.all(np.isnan(cap)) or moved >= budget:
            break
        src = int(np.nanargmax(cap))
        if stop_at_pct is not None and 100 * cap[src] <= stop_at_pct:
            break
        done = False
        for t in type_order:
            if counts[src, t] == 0 or p.weights[t] <= 0:
                continue
            targets = np.where(receive[:, t] & active, cap, np.nan)
            targets[src] = np.nan
            if np.all(np.isnan(targets)):
                continue
            dst = int(np.nanargmin(targets))
            # Moving k cases narrows the pair's gap by k × step; stop before dst passes src.
            step = p.weights[t] / avail[src] + p.weights[t] / avail[dst]
            k = int(min(counts[src, t], (cap[src] - cap[dst]) // step, budget - moved))
            if k < 1:
                continue
            if stop_at_pct is not None:  # no more than it takes to bring src down to the level
                k = min(k, int(np.ceil((cap[src] - stop_at_pct / 100) / (p.weights[t] / avail[src]) - 1e-12)))
            counts[src, t] -= k
            counts[dst, t] += k
            moved += k
            done = True
            break
        if not done:
            break
    return Solution(counts, moves_between(p.counts, counts), 0, "greedy", "heuristic")
