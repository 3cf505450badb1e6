import itertools
import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from caseload.staffing import hiring


def brute_force_key(need, on_board, hires):
    """The five objectives of the module docstring, computed from scratch for one allocation."""
    staffed = [b + h for b, h in zip(on_board, hires, strict=True)]
    shortfall = [max(0.0, n - s) for n, s in zip(need, staffed, strict=True)]
    ratio = max([sf / n for sf, n in zip(shortfall, need, strict=True) if n > 0], default=0.0)
    caps = [n / s if s > 0 else math.inf for n, s in zip(need, staffed, strict=True) if n > 0]
    spread = sum(n / max(s, 0.5) for n, s in zip(need, staffed, strict=True) if n > 0)
    return (ratio, sum(shortfall), max(caps, default=0.0), -sum(hires), spread)


def brute_force(need, on_board, total, *, limits=None, cost=None, budget=None):
    """Every allocation of at most ``total`` hires within the limits and the budget; the
    lexicographically smallest key (ties within 1e-9 on a stage go to the next stage)."""
    upper = [total if limits is None else min(limit, total) for limit in limits or need]
    best = None
    for combo in itertools.product(*(range(u + 1) for u in upper)):
        if sum(combo) > total:
            continue
        if budget is not None and sum(c * h for c, h in zip(cost, combo, strict=True)) > budget:
            continue
        key = brute_force_key(need, on_board, combo)
        if best is None or _less(key, best[0]):
            best = (key, combo)
    return best


def _less(a, b):
    for x, y in zip(a, b, strict=True):
        if x == y or (math.isfinite(x) and math.isfinite(y) and abs(x - y) <= 1e-9):
            continue
        return x < y
    return False


def assert_matches_brute_force(need, on_board, total, *, limits=None, cost=None, budget=None):
    exact = hiring.allocate(np.array(need, dtype=float), np.array(on_board, dtype=float), total,
                            max_per_office=limits, cost=None if cost is None else np.array(cost, dtype=float), budget=budget)
    best_key, _ = brute_force(need, on_board, total, limits=limits, cost=cost, budget=budget)
    key = brute_force_key(need, on_board, exact.hires.tolist())
    assert key[0] == pytest.approx(best_key[0], abs=1e-7)
    assert key[1] == pytest.approx(best_key[1], abs=1e-6)
    assert key[2] == pytest.approx(best_key[2], abs=1e-7)
    assert key[3] == best_key[3]
    assert key[4] == pytest.approx(best_key[4], abs=1e-6)
    assert exact.hires.sum() <= total and (exact.hires >= 0).all()
    if limits is not None:
        assert (exact.hires <= np.array(limits)).all()
    if budget is not None:
        assert float(np.dot(exact.hires, cost)) <= budget + 1e-9
    return exact



@st.composite
def instances(draw):
    n = draw(st.integers(1, 4))
    # needs include zero-need offices; officers on board are whole people
    need = draw(st.lists(st.one_of(st.just(0.0), st.floats(0.5, 12, allow_nan=False)), min_size=n, max_size=n))
    on_board = draw(st.lists(st.integers(0, 10), min_size=n, max_size=n))
    total = draw(st.integers(0, 7))
    limits = draw(st.one_of(st.none(), st.lists(st.integers(0, 5), min_size=n, max_size=n)))
    priced = draw(st.booleans())
    cost = draw(st.lists(st.integers(0, 5), min_size=n, max_size=n)) if priced else None
    budget = draw(st.integers(0, 20)) if priced else None
    return need, on_board, total, limits, cost, budget


@settings(max_examples=150, deadline=None)
@given(instances())
@example(([10.0, 10.0], [5, 5], 6, None, [100, 300], 550))
@example(([4.0, 8.0, 0.0], [10, 10, 0], 5, [5, 1, 5], None, None))
@example(([3.0, 0.0], [0, 0], 3, [0, 3], None, None))
def test_milp_equals_brute_force_with_costs_budgets_limits_and_zero_need(instance):
    need, on_board, total, limits, cost, budget = instance
    assert_matches_brute_force(need, on_board, total, limits=limits, cost=cost, budget=budget)


def test_optimum_beats_the_proportional_rule_where_dockets_and_staffing_diverge():
    need = np.array([20.0, 10.0, 5.0])      # FTE need
    on_board = np.array([19.0, 4.0, 5.0])   # the middle office is the short one
    docket = np.array([400_000, 200_000, 100_000])
    best = hiring.allocate(need, on_board, 6)
    naive = hiring.evaluate(need, on_board, hiring.proportional(docket, 6))
    assert best.hires.tolist() == [0, 6, 0]
    assert best.max_shortfall_ratio == pytest.approx(0.05)  # the first office stays one short of 20
    assert naive.max_shortfall_ratio > best.max_shortfall_ratio
    assert naive.total_shortfall > best.total_shortfall


def test_a_budget_does_not_buy_more_hires_at_the_cost_of_the_largest_shortfall():
    # [5, 0] spends 500 on five hires and leaves the second office 5 of 10 short (ratio 0.5);
    # [2, 1] spends 500 on three hires and leaves shortfalls 3 and 4 (ratio 0.4). [3, 1] costs 600.
    need, on_board = np.array([10.0, 10.0]), np.array([5.0, 5.0])
    result = hiring.allocate(need, on_board, 6, cost=np.array([100.0, 300.0]), budget=550)
    assert result.hires.tolist() == [2, 1]
    assert result.max_shortfall_ratio == pytest.approx(0.4)
    assert result.total_shortfall == pytest.approx(7.0)
    assert result.hires_placed == 3


def test_a_per_office_limit_is_respected_and_the_rest_goes_where_it_lowers_capacity():
    # office 0 can take one hire only; the four others go to office 1, not to the zero-need office 2
    need, on_board = np.array([10.0, 6.0, 0.0]), np.array([5.0, 5.0, 3.0])
    result = hiring.allocate(need, on_board, 5, max_per_office=[1, 5, 5])
    assert result.hires.tolist() == [1, 4, 0]
    assert result.max_shortfall_ratio == pytest.approx(0.4)


def test_surplus_hires_go_to_the_largest_projected_capacity():
    need, on_board = np.array([4.0, 8.0]), np.array([10.0, 10.0])  # no shortfall anywhere
    assert hiring.allocate(need, on_board, 2).hires.tolist() == [0, 2]


def test_hires_beyond_the_shortfalls_are_spread_not_piled_into_one_office():
    # every shortfall closes with 3 hires; the 9 others lower the largest capacity in turn:
    # the three offices end at 10/13, 10/13 and 9/12 of their officers' time
    need, on_board = np.array([10.0, 10.0, 9.0]), np.array([9.0, 9.0, 8.0])
    result = hiring.allocate(need, on_board, 12)
    assert result.total_shortfall == 0
    assert result.hires.tolist() == [4, 4, 4]
    assert result.max_capacity == pytest.approx(10 / 13)
    assert_matches_brute_force([10.0, 10.0, 9.0], [9, 9, 8], 12)


def test_zero_need_offices_receive_hires_only_when_nothing_else_can_take_them():
    need, on_board = np.array([0.0, 2.0]), np.array([0.0, 2.0])
    assert hiring.allocate(need, on_board, 3, max_per_office=[3, 1]).hires.tolist() == [2, 1]
    assert hiring.allocate(need, on_board, 3).hires.tolist() == [0, 3]


def test_invalid_inputs_are_refused():
    with pytest.raises(ValueError, match="negative"):
        hiring.allocate([1.0], [1.0], -1)
    with pytest.raises(ValueError, match="cost"):
        hiring.allocate([1.0], [0.0], 1, cost=[-1.0], budget=5)


def test_proportional_rule_places_exactly_n():
    assert hiring.proportional([3, 3, 3], 10).tolist() == [4, 3, 3]
    assert hiring.proportional([1, 0], 0).tolist() == [0, 0]
