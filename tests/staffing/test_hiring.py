import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caseload.staffing import hiring


@settings(max_examples=60, deadline=None)
@given(
    need=st.lists(st.floats(0.5, 12, allow_nan=False), min_size=2, max_size=4),
    board_share=st.lists(st.floats(0, 1.2), min_size=4, max_size=4),
    total=st.integers(0, 7),
    cap=st.one_of(st.none(), st.integers(0, 4)),
)
def test_milp_equals_brute_force_on_small_instances(need, board_share, total, cap):
    need = np.array(need)
    on_board = np.floor(need * np.array(board_share[: len(need)]))
    limits = None if cap is None else [cap] * len(need)
    exact = hiring.allocate(need, on_board, total, max_per_office=limits)
    brute = hiring.brute_force(need, on_board, total, max_per_office=limits)
    assert exact.max_shortfall_ratio == pytest.approx(brute.max_shortfall_ratio, abs=1e-7)
    assert exact.total_shortfall == pytest.approx(brute.total_shortfall, abs=1e-6)
    assert exact.hires.sum() == min(total, sum(limits) if limits else total)
    if limits:
        assert (exact.hires <= cap).all()


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


def test_budget_limits_hires_to_what_it_pays_for():
    need, on_board = np.array([10.0, 10.0]), np.array([5.0, 5.0])
    result = hiring.allocate(need, on_board, 6, cost=np.array([100.0, 300.0]), budget=550)
    assert int((result.hires * np.array([100, 300])).sum()) <= 550
    assert result.hires.sum() == 5           # five of the cheaper office's hires fit, six do not
    assert result.hires.tolist() == [5, 0]


def test_surplus_hires_go_where_officers_carry_most():
    need, on_board = np.array([4.0, 8.0]), np.array([10.0, 10.0])  # no shortfall anywhere
    assert hiring.allocate(need, on_board, 2).hires.tolist() == [0, 2]


def test_proportional_rule_places_exactly_n():
    assert hiring.proportional([3, 3, 3], 10).sum() == 10
    assert hiring.proportional([1, 0], 0).tolist() == [0, 0]
