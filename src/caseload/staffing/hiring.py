"""Hiring allocation as an exact integer programme (scipy.optimize.milp): pure, no Django.

Given each office's FTE need and officers on board, allocate up to N new officers. With
shortfall_o = max(0, need_o − on_board_o − hires_o) and projected capacity
cap_o = need_o ÷ (on_board_o + hires_o) (the office's workload over its officers, 1.0 = 100 %),
the allocation minimises, in this order:

1. the largest shortfall ratio  max_o (shortfall_o ÷ need_o);
2. the total shortfall  Σ_o shortfall_o;
3. the largest projected capacity  max_o cap_o over the offices with a need (equivalently: it
   maximises the smallest staffing ratio (on_board_o + hires_o) ÷ need_o, a linear objective);
4. the number of hires left unplaced: among allocations equal on 1–3, as many of the N hires as
   the per-office limits and the budget allow are placed;
5. the sum of projected capacities  Σ_o cap_o, which spreads hires that none of 1–4 decides
   (cap_o is convex in hires_o, so its piecewise-linear interpolation at whole hires is exact;
   an office left with no officer at all counts as holding half an officer).

Each stage is solved to optimality and then held (within a tolerance of 1e-9) while the next
is solved, so no later objective can worsen an earlier one. A budget never forces hires: the
old rule "place as many hires as the budget buys, then balance" could trade a worse largest
shortfall for more hires, which breaks objective 1. Optional constraints: a per-office maximum
(training capacity, office space) and a budget with a per-office cost of a hire (cost ≥ 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

TOLERANCE = 1e-9
EMPTY_OFFICE = 0.5   # officers an office with none is counted as holding in objective 5
SOLVER_OPTIONS = {"mip_rel_gap": 0.0}   # HiGHS stops at 0.01 % by default: exactness needs 0


@dataclass(frozen=True)
class Allocation:
    hires: np.ndarray
    max_shortfall_ratio: float
    total_shortfall: float
    max_capacity: float | None       # largest projected capacity (1.0 = 100 %); None if no office has a need
    capacity_sum: float

    @property
    def hires_placed(self) -> int:
        return int(self.hires.sum())


def capacity(need: np.ndarray, staffed: np.ndarray) -> np.ndarray:
    """Projected capacity per office as objective 5 counts it: need ÷ officers (0 where no need)."""
    need = np.asarray(need, dtype=float)
    staffed = np.maximum(np.asarray(staffed, dtype=float), EMPTY_OFFICE)
    return np.where(need > 0, need / staffed, 0.0)


def evaluate(need, on_board, hires) -> Allocation:
    """The figures of one allocation (any allocation, e.g. the proportional rule's)."""
    need = np.asarray(need, dtype=float)
    on_board = np.asarray(on_board, dtype=float)
    hires = np.asarray(hires, dtype=np.int64)
    staffed = on_board + hires
    shortfall = np.maximum(0.0, need - staffed)
    ratio = np.divide(shortfall, need, out=np.zeros_like(shortfall), where=need > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        true_capacity = np.where(need > 0, need / np.where(staffed > 0, staffed, 0.0), 0.0)
    return Allocation(hires, float(ratio.max(initial=0.0)), float(shortfall.sum()),
                      float(true_capacity[need > 0].max()) if (need > 0).any() else None,
                      float(capacity(need, staffed).sum()))


class _Programme:
    """Rows of a MILP over the variables [h (n, integer), s (n), z, t, u (n)]."""

    def __init__(self, n: int, upper: np.ndarray):
        self.n = n
        self.nv = 3 * n + 2
        self.z, self.t = 2 * n, 2 * n + 1
        self.rows: list[np.ndarray] = []
        self.lo: list[float] = []
        self.hi: list[float] = []
        self.integrality = np.r_[np.ones(n), np.zeros(2 * n + 2)]
        self.bounds = Bounds(np.r_[np.zeros(2 * n + 1), -np.inf, np.zeros(n)],
                             np.r_[upper, np.full(2 * n + 2, np.inf)])

    def h(self, o: int) -> int:
        return o

    def s(self, o: int) -> int:
        return self.n + o

    def u(self, o: int) -> int:
        return 2 * self.n + 2 + o

    def vector(self, coefs: dict[int, float]) -> np.ndarray:
        r = np.zeros(self.nv)
        for idx, value in coefs.items():
            r[idx] += value
        return r

    def add(self, coefs: dict[int, float] | np.ndarray, low: float, high: float) -> None:
        self.rows.append(coefs if isinstance(coefs, np.ndarray) else self.vector(coefs))
        self.lo.append(low)
        self.hi.append(high)

    def minimise(self, objective: np.ndarray, what: str) -> tuple[np.ndarray, float]:
        """Solve for ``objective``, then hold it at its optimum for the stages that follow."""
        result = milp(c=objective, constraints=LinearConstraint(np.array(self.rows), self.lo, self.hi),
                      integrality=self.integrality, bounds=self.bounds, options=SOLVER_OPTIONS)
        if result.status != 0 or result.x is None:
            raise RuntimeError(f"hiring allocation: the solver found no optimal {what} ({result.message})")
        self.add(objective, -np.inf, result.fun + TOLERANCE * max(1.0, abs(result.fun)))
        return result.x, result.fun


def allocate(need, on_board, total_hires: int, *, max_per_office=None, cost=None, budget: float | None = None) -> Allocation:
    """The lexicographically optimal allocation of at most ``total_hires`` officers (module docstring)."""
    need = np.asarray(need, dtype=float)
    on_board = np.asarray(on_board, dtype=float)
    n = len(need)
    if total_hires < 0:
        raise ValueError("the number of hires cannot be negative")
    if (need < 0).any() or (on_board < 0).any():
        raise ValueError("need and officers on board cannot be negative")
    upper = np.full(n, float(total_hires)) if max_per_office is None else \
        np.clip(np.asarray(max_per_office, dtype=float), 0, total_hires)
    p = _Programme(n, upper)
    staffed_need = need > 0
    for o in range(n):
        p.add({p.s(o): 1.0, p.h(o): 1.0}, need[o] - on_board[o], np.inf)       # s_o ≥ need_o − on_board_o − h_o
        if staffed_need[o]:
            p.add({p.s(o): 1.0 / need[o], p.z: -1.0}, -np.inf, 0.0)            # s_o ÷ need_o ≤ z
            p.add({p.t: 1.0, p.h(o): -1.0 / need[o]}, -np.inf, on_board[o] / need[o])   # t ≤ (b_o + h_o) ÷ need_o
            curve = capacity(np.full(int(upper[o]) + 1, need[o]), on_board[o] + np.arange(int(upper[o]) + 1))
            p.add({p.u(o): 1.0}, curve[-1], np.inf)                             # u_o ≥ cap_o, exact at whole hires:
            for k in range(int(upper[o])):                                     # one chord per step of the curve
                slope = curve[k + 1] - curve[k]
                p.add({p.u(o): 1.0, p.h(o): -slope}, curve[k] - slope * k, np.inf)
    if not staffed_need.any():
        p.add({p.t: 1.0}, -np.inf, 0.0)   # no office has a need: objective 3 is empty
    p.add({p.h(o): 1.0 for o in range(n)}, -np.inf, total_hires)
    if cost is not None and budget is not None:
        cost = np.asarray(cost, dtype=float)
        if (cost < 0).any():
            raise ValueError("the cost of a hire cannot be negative")
        p.add({p.h(o): cost[o] for o in range(n)}, -np.inf, budget)
    p.minimise(p.vector({p.z: 1.0}), "largest shortfall ratio")
    p.minimise(p.vector({p.s(o): 1.0 for o in range(n)}), "total shortfall")
    p.minimise(p.vector({p.t: -1.0}), "largest projected capacity")
    p.minimise(p.vector({p.h(o): -1.0 for o in range(n)}), "number of hires")
    x, _ = p.minimise(p.vector({p.u(o): 1.0 for o in range(n)}), "sum of projected capacities")
    return evaluate(need, on_board, np.rint(x[:n]).astype(np.int64))


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
