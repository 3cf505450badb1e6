"""The forecast engine alone (NumPy, no database): determinism, conservation, draining, quotas, dask."""

from __future__ import annotations

import numpy as np
import pytest

from caseload.forecast import engine as e

O, B, T = 3, 2, 4


def model(**changes) -> e.Model:
    """A small model with every mechanism switched on (tier change, hires, attrition, quota, inflow)."""
    months = changes.pop("months", 18)
    stock = np.zeros((O, B, T, 3))
    stock[..., e.PENDING] = 4_000
    stock[..., e.APPEAL] = 600
    stock[..., e.FINAL] = 2_500
    rates = np.zeros((O, 3, len(e.OUTCOMES)))
    rates[:, e.PENDING, [e.APPEAL_OUT, e.FINAL_OUT, e.RELIEF, e.TERMINATED, e.DEPARTED, e.FAILED]] = \
        [0.01, 0.03, 0.005, 0.004, 0.002, 0.003]
    rates[:, e.APPEAL, [e.FINAL_OUT, e.RELIEF, e.TERMINATED, e.DEPARTED, e.FAILED]] = [0.06, 0.01, 0.005, 0.002, 0.001]
    rates[:, e.FINAL, [e.DEPARTED, e.FAILED]] = [0.002, 0.004]
    hazard = np.full((O, B, T), 0.02)
    hazard[:, :, 2] = 0.3   # the restricted tier would remove far more than its quota allows
    hires = np.zeros((months, O))
    hires[2, 0] = 5
    hires[7, 2] = 3
    base = dict(
        offices=("AAA", "BBB", "CCC"), bands=("level 1", "other"), tiers=("cooperative", "delayed", "restricted", "uncooperative"),
        stock=stock, inflow=np.full((months, O, B, T, 3), 5.0), rates=rates, removal_hazard=hazard,
        weights=np.full((O, B, T, 3), 4.0), officers=np.array([20.0, 12.0, 8.0]), hires=hires,
        minutes_per_fte_month=7_000.0, ramp_months=4, attrition_monthly=0.005,
        tier_changes=(e.TierChange(month=5, source=3, target=0, share=np.full((O, B), 0.4), country="XX"),),
        restricted_tier=2, quota_annual=900.0, quota_left=300.0, quota_resets=(6,),
        rate_sigma=0.1, removal_sigma=0.15, inflow_sigma=0.1,
    )
    base.update(changes)
    return e.Model(**base)


def test_the_same_seed_gives_identical_figures_and_another_seed_does_not():
    a = e.simulate(model(), reps=70, seed=11, chunk_reps=25)
    b = e.simulate(model(), reps=70, seed=11, chunk_reps=25)
    c = e.simulate(model(), reps=70, seed=12, chunk_reps=25)
    for name in e.RECORDED:
        assert np.array_equal(a.figures[name], b.figures[name]), name
    assert not np.array_equal(a.figures["open_cases"], c.figures["open_cases"])
    assert e.summarise(a) == e.summarise(b)


def test_the_local_executors_threads_do_not_change_the_figures():
    one = e.simulate(model(), reps=60, seed=13, chunk_reps=20, threads=1)
    two = e.simulate(model(), reps=60, seed=13, chunk_reps=20, threads=2)
    for name in e.RECORDED:
        assert np.array_equal(one.figures[name], two.figures[name]), name


def test_a_chunk_depends_on_its_seed_only():
    """The first 25 repetitions are the same whether 25 or 70 repetitions are run."""
    short = e.simulate(model(), reps=25, seed=5, chunk_reps=25)
    long = e.simulate(model(), reps=70, seed=5, chunk_reps=25)
    assert np.array_equal(short.figures["open_cases"], long.figures["open_cases"][:25])


def test_cases_are_conserved_in_every_month_office_and_repetition():
    result = e.simulate(model(), reps=40, seed=3, chunk_reps=16)
    gap = e.conservation_gap(result)
    assert gap.shape == (40, 18, O)
    assert np.array_equal(gap, np.zeros_like(gap))
    f = result.figures
    assert f["inflow"].sum() > 0 and f["closed"].sum() > 0 and f["removals"].sum() > 0
    for name in ("open_cases", "inflow", "closed", "removals"):   # whole numbers throughout
        assert np.array_equal(f[name], np.round(f[name])), name


def test_restricted_removals_never_exceed_the_quota_left():
    m = model(tier_changes=())
    result = e.simulate(m, reps=20, seed=8, chunk_reps=20)
    restricted_only = model(tier_changes=(), removal_hazard=np.where(np.arange(T) == 2, 0.3, 0.0)[None, None, :]
                            * np.ones((O, B, 1)))
    r = e.simulate(restricted_only, reps=20, seed=8, chunk_reps=20).figures["removals"].sum(axis=2)   # (reps, months)
    assert np.all(r[:, :6].sum(axis=1) <= 300) and np.all(r[:, 6:18].sum(axis=1) <= 900)
    assert np.all(r[:, :6].sum(axis=1) >= 290)       # the hazard is high enough to use the quota up
    assert result.figures["removals"].sum() > r.sum()


def expected_drain(m: e.Model, months: int) -> np.ndarray:
    """Expected open cases per month from the rates alone (deterministic recursion)."""
    s = m.stock.astype(float).copy()
    r = m.rates
    closing = [e.RELIEF, e.TERMINATED, e.DEPARTED, e.FAILED]
    out = []
    for _ in range(months):
        p, a, f = s[..., e.PENDING], s[..., e.APPEAL], s[..., e.FINAL]
        pr = r[:, None, None, e.PENDING, :]
        ar = r[:, None, None, e.APPEAL, :]
        fr = r[:, None, None, e.FINAL, :]
        to_appeal, to_final_p = p * pr[..., e.APPEAL_OUT], p * pr[..., e.FINAL_OUT]
        closed_p = p * pr[..., closing].sum(axis=-1)
        to_final_a, closed_a = a * ar[..., e.FINAL_OUT], a * ar[..., closing].sum(axis=-1)
        closed_f = f * fr[..., closing].sum(axis=-1)
        removed = (f - closed_f) * m.removal_hazard
        s = np.stack([p - to_appeal - to_final_p - closed_p, a + to_appeal - to_final_a - closed_a,
                      f + to_final_p + to_final_a - closed_f - removed], axis=-1)
        out.append(s.sum())
    return np.array(out)


def test_without_hires_and_inflow_the_docket_drains_as_the_rates_imply():
    months = 36
    m = model(months=months, inflow=np.zeros((months, O, B, T, 3)), hires=np.zeros((months, O)), attrition_monthly=0.0,
              tier_changes=(), restricted_tier=None, quota_annual=float("inf"), quota_left=float("inf"), quota_resets=(),
              removal_hazard=np.full((O, B, T), 0.02), coverage_elasticity=0.0,
              rate_sigma=0.0, removal_sigma=0.0, inflow_sigma=0.0)
    result = e.simulate(m, reps=30, seed=2, chunk_reps=30)
    national = result.figures["open_cases"].sum(axis=2)              # (reps, months)
    assert np.all(np.diff(national, axis=1) <= 0)                     # never grows
    assert np.all(national[:, 0] < m.stock.sum())
    expected = expected_drain(m, months)
    assert np.allclose(national.mean(axis=0), expected, rtol=0.002)
    # after three years a measurable share has gone: the recursion says how much
    assert national[:, -1].mean() == pytest.approx(expected[-1], rel=0.002)
    assert expected[-1] < 0.8 * m.stock.sum()


def test_hires_ramp_up_and_attrition_change_the_officers():
    m = model(attrition_monthly=0.0, rate_sigma=0.0)
    f = e.simulate(m, reps=5, seed=1, chunk_reps=5).figures
    # office AAA: 20 on board, 5 hires joining in month 3, counting 1/4, 2/4, 3/4, then fully
    assert f["officers"][0, :, 0].tolist() == [20, 20, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25]
    assert f["fte"][0, :8, 0].tolist() == [20, 20, 21.25, 22.5, 23.75, 25, 25, 25]
    with_attrition = e.simulate(model(attrition_monthly=0.02), reps=5, seed=1, chunk_reps=5).figures
    assert with_attrition["officers"][:, -1, 1].max() < 12


def test_an_inconsistent_model_is_refused():
    bad = model()
    rates = bad.rates.copy()
    rates[:, e.FINAL, e.FINAL_OUT] = 0.1
    with pytest.raises(ValueError, match="final_order has a transition it cannot take"):
        e.simulate(model(rates=rates), reps=2, seed=1)
    with pytest.raises(ValueError, match="reps"):
        e.simulate(model(), reps=0, seed=1)


@pytest.mark.slow
def test_dask_local_cluster_gives_the_local_figures():
    pytest.importorskip("dask.distributed")
    local = e.simulate(model(), reps=60, seed=21, chunk_reps=15)
    dask = e.simulate(model(), reps=60, seed=21, chunk_reps=15, executor="dask", workers=2)
    assert dask.executor == "dask"
    for name in e.RECORDED:
        assert np.array_equal(local.figures[name], dask.figures[name]), name
