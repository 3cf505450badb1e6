"""The forecast's reading of the docket and building of the model, on a small hand-made docket."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from caseload.forecast import engine, services
from caseload.forecast.scenario import TIERS, defaults
from tests import factories
from tests.forecast.conftest import WEIGHTS

WINDOW_MONTHS = 365 / (365.25 / 12)


def scenario_file(tmp_path, body: str, name: str = "s.toml"):
    path = tmp_path / name
    path.write_text('id = "test-scenario"\ntitle = "A test scenario"\n' + body)
    return path


def office(state, code: str) -> int:
    return state.offices.index(code)


def test_the_model_holds_the_docket_by_office_stage_tier_and_band(docket):
    state = services.read_docket()
    model, info = services.build_model(state, services.load_scenario(None), 12)
    was, atl = office(state, "WAS"), office(state, "ATL")
    unclassified = services.BANDS.index("unclassified")
    assert model.stock.sum() == 86 and info["open_cases"] == 86
    assert model.stock[was].sum(axis=(0, 1)).tolist() == [42, 6, 10]
    assert model.stock[atl].sum(axis=(0, 1)).tolist() == [20, 0, 8]
    assert model.stock[was, unclassified, TIERS.index("restricted"), engine.FINAL] == 10       # CN
    assert model.stock[atl, unclassified, TIERS.index("uncooperative"), engine.FINAL] == 8     # CU
    assert model.stock[:, :services.BANDS.index("unclassified")].sum() == 0
    # case weights per cell: the cases' own weights
    assert model.weights[was, unclassified, 0, engine.PENDING] == WEIGHTS["recognizance/pending/unclassified"]
    assert model.weights[atl, unclassified, TIERS.index("uncooperative"), engine.FINAL] == WEIGHTS["osup/final_order/unclassified"]
    # officers and their casework minutes (year value: 2,080 - 303.5 leave - 40 training - 0 collateral hours)
    assert model.officers[was] == 3 and model.officers[atl] == 2 and info["officers"] == 5
    assert model.minutes_per_fte_month == pytest.approx((2080 - 303.5 - 40) * 60 / 12)


def test_inflow_comes_from_the_last_years_openings_without_a_seasonal_profile(docket):
    state = services.read_docket()
    model, info = services.build_model(state, services.load_scenario(None), 12)
    was = office(state, "WAS")
    assert state.season.tolist() == [1.0] * 12 and info["season_source"].startswith("flat")
    per_month = 12 / WINDOW_MONTHS
    assert model.inflow[:, was].sum(axis=(1, 2, 3)) == pytest.approx([per_month] * 12)
    assert model.inflow[:, was, 3, 0, engine.PENDING] == pytest.approx([per_month] * 12)   # unclassified, cooperative
    assert model.inflow[:, office(state, "ATL")].sum() == 0
    assert info["inflow_per_month"] == round(per_month, 1)


def test_rates_fall_back_to_the_defaults_when_the_docket_holds_too_few_events(docket):
    state = services.read_docket()
    model, info = services.build_model(state, services.load_scenario(None), 6)
    d = defaults()["rates"]
    assert model.rates[:, engine.PENDING, engine.FINAL_OUT] == pytest.approx(d["pending_to_final_order"])
    assert model.rates[:, engine.APPEAL, engine.FINAL_OUT] == pytest.approx(d["appeal_to_final_order"])
    assert model.rates[:, engine.FINAL, engine.DEPARTED] == pytest.approx(d["departed"])
    assert info["rates"]["pending_to_final_order"]["source"].startswith("default (0 events")


def test_final_orders_in_the_window_give_a_measured_rate_shrunk_per_office(docket):
    for _ in range(25):
        person = factories.person("WAS", citizenship_id="MX")
        factories.case(person, stage="final_order", final_order_date=dt.date(2026, 2, 1), opened_on=dt.date(2020, 1, 10))
    state = services.read_docket()
    model, info = services.build_model(state, services.load_scenario(None), 3)
    exposure = np.zeros(len(state.offices))
    exposure[office(state, "WAS")], exposure[office(state, "ATL")] = 42 * WINDOW_MONTHS, 20 * WINDOW_MONTHS
    national = 25 / exposure.sum()
    k = defaults()["measurement"]["shrinkage_case_months"]
    events = np.zeros(len(state.offices))
    events[office(state, "WAS")] = 25
    assert model.rates[:, engine.PENDING, engine.FINAL_OUT] == pytest.approx((events + k * national) / (exposure + k))
    assert info["rates"]["pending_to_final_order"] == {"value": round(national, 6), "source": "measured: 25 events in the window"}


def test_a_scenario_sets_hires_inflow_tier_changes_and_quotas(docket, tmp_path):
    path = scenario_file(tmp_path, """
[[hires]]
office = "WAS"
month = 2
count = 4
[[inflow]]
office = "WAS"
multiplier = 2.0
from_month = 3
to_month = 4
[[tier_changes]]
country = "CN"
tier = "cooperative"
month = 5
[officers]
ramp_months = 3
attrition_per_year = 0.0
""")
    state = services.read_docket()
    base, base_info = services.build_model(state, services.load_scenario(None), 8)
    model, info = services.build_model(state, services.load_scenario(path), 8)
    was = office(state, "WAS")
    assert model.hires[:, was].tolist() == [0, 4, 0, 0, 0, 0, 0, 0] and model.hires.sum() == 4
    ratio = model.inflow[:, was].sum(axis=(1, 2, 3)) / base.inflow[:, was].sum(axis=(1, 2, 3))
    assert ratio == pytest.approx([1, 1, 2, 2, 1, 1, 1, 1])
    (change,) = model.tier_changes
    assert (change.month, TIERS[change.source], TIERS[change.target], change.country) == (4, "restricted", "cooperative", "CN")
    assert change.share[was, services.BANDS.index("unclassified")] == 1.0 and change.share.sum() == 1.0
    # quotas: CN, IN and BD are restricted in the reference data; CN's quota leaves with it
    assert base_info["quota"]["annual"] == 1200 + 2400 + 600
    assert info["quota"]["annual"] == 2400 + 600
    assert model.ramp_months == 3 and model.attrition_monthly == 0.0


def test_a_rule_set_scenario_bands_the_cases_by_that_rule_sets_levels(docket, tmp_path):
    from caseload.policy.services import access_rule_set, classify_open_cases, do_load_shipped

    do_load_shipped(actor_label="test")
    path = scenario_file(tmp_path, 'rule_set = "pep-2014"\n')
    state = services.read_docket()
    model, info = services.build_model(state, services.load_scenario(path), 2)
    classified = classify_open_cases(access_rule_set("pep-2014"), as_of=state.as_of)
    ranks = np.asarray(classified.level) + 1
    expected = np.bincount(services.band_of_rank(ranks), minlength=len(services.BANDS))
    assert model.stock.sum(axis=(0, 2, 3)).tolist() == expected.tolist()
    assert model.stock.sum() == 86 and info["rule_set"] == "pep-2014"


def test_horizon_docket_is_the_forecasts_median_at_the_horizon(docket):
    doc = services.run_forecast(months=6, reps=40, seed=4)
    horizon = services.horizon_docket(6, reps=40, seed=4)
    by_office = {o["office"]: o["months"][-1]["open_cases"]["p50"] for o in doc["by_office"]}
    assert {code: v["cases"] for code, v in horizon["offices"].items()} == by_office
    assert horizon["month"] == "2026-12-01" and horizon["horizon_months"] == 6


def test_add_horizon_reports_the_horizons_need_and_places_hires_against_it(docket):
    from caseload.staffing.services import staffing_plan

    today = staffing_plan(hires=2, weights_kind="measured")
    doc = services.add_horizon(today, 6, hires=2, weights_kind="measured", max_hires_per_office=1)
    assert {k: v for k, v in doc.items() if k != "horizon"} == today
    horizon = doc["horizon"]
    assert (horizon["months"], horizon["month"], horizon["basis"]) == (6, "2026-12-01", "p50 of the forecast at the horizon")
    rows = {r["office"]: r for r in horizon["offices"]}
    expected = services.horizon_docket(6)
    yv = today["year_value_hours"]
    for code in ("WAS", "ATL"):
        assert rows[code]["cases"] == expected["offices"][code]["cases"]
        assert rows[code]["fte_need"] == round(expected["offices"][code]["workload_minutes"] * 12 / 60 / yv, 2)
    assert horizon["national"]["hires"] == 2 == sum(r["hires"] for r in rows.values())
    assert max(r["hires"] for r in rows.values()) == 1
