import datetime as dt
import json

import pytest

from caseload.core.errors import CaseloadError, Conflict, UsageError
from caseload.core.models import AuditEvent
from caseload.docket.models import Case
from caseload.ingest.generate import generate_docket
from caseload.offices.models import Officer
from caseload.staffing import services
from caseload.staffing.models import AssignmentRecord, CaseWeightSet
from caseload.workload.models import TimeLogEntry
from tests import factories

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2026, 6, 30)


def test_weights_recover_the_generators_true_weights(tmp_path):
    generate_docket(scale=0.02, seed=3, as_of=AS_OF, weights_path=tmp_path / "truth.json")
    truth = json.loads((tmp_path / "truth.json").read_text())
    start = dt.date.fromisoformat(truth["period"]["from"])
    doc = services.measure_weights(start=start, end=AS_OF, group_by=("supervision_type", "stage"))
    measured = {w["case_type"]: w for w in doc["weights"]}
    assert set(measured) == {w["case_type"] for w in truth["weights"]}
    covered = 0
    for w in truth["weights"]:
        m = measured[w["case_type"]]
        assert m["case_months"] == pytest.approx(w["case_months"], abs=0.01)   # same exposure definition
        assert m["low"] < m["minutes_per_case_month"] < m["high"]
        assert abs(m["minutes_per_case_month"] - w["minutes_per_case_month"]) / w["minutes_per_case_month"] < 0.12
        covered += m["low"] <= w["minutes_per_case_month"] <= m["high"]
    # 90 % intervals: with 12 types, 9 or more cover the truth with probability 0.97
    assert covered >= 9, covered
    # collateral duties: 20 x 15 + 40 x 9 + 6 x 25 + 1 x 170 + 2 x 240 = 1,460 minutes per officer-month
    assert doc["collateral_minutes_per_officer_month"] == pytest.approx(1460, rel=0.06)


def _weights(**by_type):
    return services.do_save_weight_set(
        kind="measured", name="test", group_by=("supervision_type", "stage"), provenance="hand-set for a test",
        actor_label="tester", collateral=0.0,
        weights=[{"case_type": k.replace("__", "/"), "minutes_per_case_month": v} for k, v in by_type.items()])


def _office(code="SPM", loads=(40, 10, 10, 0), statuses=None):
    officers = [factories.officer(code, last_name=f"O{i}", status=(statuses or {}).get(i, "active")) for i in range(len(loads))]
    for officer, n in zip(officers, loads):
        for _ in range(n):
            factories.case(factories.person(code), officer=officer)
        Officer.objects.filter(pk=officer.pk).update(open_cases=n)
    return officers


def test_plan_arithmetic_and_keys():
    _weights(recognizance__pending=3.0)
    _office("SPM", loads=(30, 30))
    doc = services.staffing_plan(overrides={"year_value.default_training_hours": 76.5})
    assert set(doc) == {"year_value_hours", "offices", "national"}
    assert doc["year_value_hours"] == 2080 - 303.5 - 76.5  # no collateral in this weight set
    spm = next(o for o in doc["offices"] if o["office"] == "SPM")
    assert set(spm) >= {"office", "cases", "workload_hours", "fte_need", "on_board", "gap", "recommended_caseload", "hires"}
    assert spm["cases"] == 60 and spm["on_board"] == 2
    assert spm["workload_hours"] == pytest.approx(60 * 3.0 * 12 / 60)
    assert spm["fte_need"] == round(36 / 1700, 2)
    assert spm["recommended_caseload"] == round(1700 * 60 / 36)  # = year value ÷ minutes per case-year
    assert doc["national"]["cases"] == 60


def test_plan_fte_need_and_capacity_are_exact():
    _weights(recognizance__pending=850.0)   # 850 min a month x 12 / 60 = 170 hours a case-year
    _office("SPM", loads=(10, 10, 10))
    doc = services.staffing_plan()
    spm = next(o for o in doc["offices"] if o["office"] == "SPM")
    year_value = 2080 - 303.5 - 40          # no training records: the default 40 hours
    assert doc["year_value_hours"] == year_value
    assert spm["workload_hours"] == 30 * 170.0
    assert spm["fte_need"] == round(30 * 170.0 / year_value, 2) == 2.94
    assert spm["capacity_pct_before"] == round(100 * 30 * 170.0 / year_value / 3, 1) == 97.9
    assert doc["national"]["year_value"]["training_hours_source"] == "default"
    assert doc["national"]["year_value"]["training_hours"] == 40


def _log(officer, day, *, case=None, minutes=30):
    from caseload.workload.services import log_minutes

    return log_minutes(officer=officer, activity="check_in" if case else "phone_call", case=case, minutes=minutes,
                       started_at=dt.datetime.combine(day, dt.time(15), tzinfo=dt.UTC))


def test_default_period_is_the_twelve_months_ending_at_the_latest_time_log_entry():
    officer = factories.officer("SPM")
    case = factories.case(factories.person("SPM"), officer=officer, opened_on=dt.date(2015, 1, 1))
    _log(officer, dt.date(2015, 9, 30), case=case, minutes=100)   # before the period: not counted
    _log(officer, dt.date(2016, 3, 1), case=case, minutes=60)
    _log(officer, dt.date(2016, 9, 30), case=case, minutes=40)    # the latest entry
    doc = services.measure_weights(group_by=("supervision_type",), reps=50)
    assert doc["period"] == {"from": "2015-10-01", "to": "2016-10-01"}
    (weight,) = doc["weights"]
    months = 366 / (365.25 / 12)                                  # 2015-10-01 to 2016-10-01 is 366 days
    assert weight["case_type"] == "recognizance"
    assert weight["minutes_per_case_month"] == round(100 / months, 4)


def test_a_period_without_time_log_is_refused_and_nothing_is_stored():
    officer = factories.officer("SPM")
    case = factories.case(factories.person("SPM"), officer=officer)
    _log(officer, dt.date(2016, 9, 30), case=case)
    with pytest.raises(UsageError) as err:
        services.measure_weights(start=dt.date(2025, 1, 1), end=dt.date(2026, 1, 1))
    assert err.value.code == "no_time_log_in_period" and err.value.exit_code == 2
    TimeLogEntry.objects.all().delete()
    with pytest.raises(UsageError) as err:
        services.staffing_plan()        # no stored set: the plan measures the default period, which is empty
    assert err.value.code == "no_time_log_in_period"
    assert not CaseWeightSet.objects.exists()


def test_a_plan_refuses_zero_weights():
    _weights(recognizance__pending=0.0, osup__final_order=0.0)
    _office("SPM", loads=(10,))
    with pytest.raises(CaseloadError) as err:
        services.staffing_plan(hires=3)
    assert err.value.code == "zero_weights"


def test_a_plan_says_which_weights_and_period_it_used():
    officer = factories.officer("SPM")
    case = factories.case(factories.person("SPM"), officer=officer, opened_on=dt.date(2015, 1, 1))
    _log(officer, dt.date(2016, 6, 30), case=case, minutes=600)
    doc = services.staffing_plan()
    weights = doc["national"]["weights"]
    stored = CaseWeightSet.objects.get()
    assert weights["set"] == stored.pk and weights["kind"] == "measured"
    assert weights["period"] == {"from": "2015-07-01", "to": "2016-07-01"}
    assert weights["group_by"] == ["supervision_type", "stage", "priority"]
    assert "2015-07-01 to 2016-07-01" in weights["provenance"]


def test_plan_with_hires_compares_with_the_proportional_rule():
    _weights(recognizance__pending=3000.0)   # heavy enough to need officers
    _office("SPM", loads=(30,))
    _office("BUF", loads=(10, 10, 10))
    doc = services.staffing_plan(hires=3)
    alloc = doc["national"]["allocation"]
    assert alloc["hires_placed"] == 3 and sum(o["hires"] for o in doc["offices"]) == 3
    assert alloc["max_shortfall_ratio"] <= alloc["proportional"]["max_shortfall_ratio"]


def test_balance_applies_moves_in_one_audited_transaction():
    _weights(recognizance__pending=2.0)
    officers = _office("SPM", loads=(40, 10, 10, 20), statuses={3: "leave"})
    events_before = AuditEvent.objects.count()
    doc = services.balance_office("SPM", apply=True)
    assert doc["applied"] and doc["moves"] == len(doc["moves_detail"]) == 20  # 40,10,10 → 20,20,20
    assert doc["lower_bound_moves"] == 20
    assert doc["after"]["max_over_mean"] == 1.0
    for move in doc["moves_detail"]:
        case = Case.objects.get(pk=move["case_id"])
        assert case.officer_id == move["to_officer"] and case.version == 2
        assert move["from_officer"] == officers[0].id and "capacity" in move["explanation"]
    assert Case.objects.filter(officer=officers[3]).count() == 20          # on leave: untouched
    assert [Officer.objects.get(pk=o.pk).open_cases for o in officers] == [20, 20, 20, 20]
    assert AuditEvent.objects.count() - events_before == 20
    assert AssignmentRecord.objects.filter(method="balancing").count() == 20


def test_national_security_cases_stay_with_certified_officers_only():
    _weights(recognizance__pending=2.0)
    officers = _office("SPM", loads=(0, 0))
    for _ in range(10):
        factories.case(factories.person("SPM", national_security_flag=True), officer=officers[0])
    doc = services.balance_office("SPM")  # nobody holds the certification: nothing can move
    assert doc["moves"] == 0


def test_a_stale_proposal_moves_nothing():
    _weights(recognizance__pending=2.0)
    officers = _office("SPM", loads=(30, 0))
    doc = services.balance_office("SPM")
    moved = doc["moves_detail"][0]["case_id"]
    Case.objects.filter(pk=moved).update(officer=officers[1])  # someone else reassigned it meanwhile
    with pytest.raises(Conflict) as err:
        services.do_apply_moves(office=factories.office("SPM"), moves=doc["moves_detail"], actor_label="t", method="balancing")
    assert err.value.code == "stale_assignment"
    assert Case.objects.filter(officer=officers[1]).count() == 1
    assert not AssignmentRecord.objects.exists()


def test_unassigned_cases_go_to_the_lowest_capacity_officer():
    _weights(recognizance__pending=2.0)
    officers = _office("SPM", loads=(5, 1, 3), statuses={1: "leave"})
    for _ in range(4):
        factories.case(factories.person("SPM"))
    doc = services.assign_unassigned("SPM")
    assert doc["assigned"] == 4
    # officer 1 is on leave; officer 2 (3 cases) takes the first two, then they alternate
    assert [a["to_officer"] for a in doc["assignments"]] == [officers[2].id, officers[2].id, officers[0].id, officers[2].id]
    assert not Case.objects.filter(office__code="SPM", officer__isnull=True).exists()
    record = AssignmentRecord.objects.filter(method="automatic").first()
    assert "lowest capacity among 2 eligible officers" in record.explanation


def test_outliers_flag_officers_far_above_their_office():
    _weights(recognizance__pending=2.0)
    _office("SPM", loads=(10, 11, 10, 12, 11, 60))
    rows = services.outliers(office="SPM")
    flagged = {(r["metric"], r["value"]) for r in rows}
    assert ("cases", 60) in flagged and len([r for r in rows if r["metric"] == "cases"]) == 1
    row = next(r for r in rows if r["metric"] == "cases")
    assert row["office_median"] == 11.0


def test_a_bad_panel_file_is_refused_with_every_problem_and_nothing_is_stored(tmp_path):
    path = tmp_path / "panel.toml"
    path.write_text('[panel]\nname = "x"\n[[weights]]\ncase_type = "osup"\nminutes_per_case_month = -1\n')
    with pytest.raises(UsageError) as err:
        services.do_load_adjusted_weights(path, actor_label="t")
    problems = err.value.details["problems"]
    assert any("decided_on" in p for p in problems) and any("minutes_per_case_month" in p for p in problems)
    assert any("reason" in p for p in problems) and any("two parts" in p or "parts" in p for p in problems)
    assert not CaseWeightSet.objects.exists()


def test_the_example_panel_loads_and_the_gap_is_reported():
    from caseload.staffing.services import PARAMETERS_FILE

    _weights(recognizance__pending=1.2, osup__final_order=2.3)
    services.do_load_adjusted_weights(PARAMETERS_FILE.with_name("panel_example.toml"), actor_label="t")
    gap = {r["case_type"]: r for r in services.weight_gap()["case_types"]}
    assert gap["osup/final_order"]["gap"] == pytest.approx(5.11 - 2.3)
    assert gap["atd/pending"]["measured"] is None


def test_outliers_include_the_overdue_task_rate():
    _weights(recognizance__pending=2.0)
    officers = _office("SPM", loads=(0, 0, 0, 0, 0))
    today = dt.date.today()
    for i, officer in enumerate(officers):
        for k in range(10):
            # the last officer's check-ins are all long overdue, the others' all in the future
            due = today - dt.timedelta(days=200) if i == 4 else today + dt.timedelta(days=30 + k)
            factories.case(factories.person("SPM"), officer=officer, next_report_due=due,
                           last_contact_on=today - dt.timedelta(days=10))
    rows = [r for r in services.outliers(office="SPM") if r["metric"] == "overdue_rate"]
    assert [r["officer"] for r in rows] == [officers[4].id]
    assert rows[0]["value"] > rows[0]["threshold"]


def test_a_negative_budget_is_refused_before_anything_is_measured():
    with pytest.raises(UsageError) as err:
        services.staffing_plan(hires=3, budget=-1)
    assert err.value.code == "invalid_budget" and err.value.exit_code == 2
    assert not CaseWeightSet.objects.exists()


def test_surplus_hires_are_spread_over_the_offices_in_the_plan():
    _weights(recognizance__pending=2000.0)   # 2,000 min a month: 400 h a case-year
    _office("SPM", loads=(4, 4))              # 8 cases: 3,200 h, need ≈ 1.85 for 2 officers
    _office("BUF", loads=(4, 4))
    doc = services.staffing_plan(hires=6)
    alloc = doc["national"]["allocation"]
    hires = {o["office"]: o["hires"] for o in doc["offices"] if o["hires"]}
    assert alloc["total_shortfall"] == 0 and alloc["hires_placed"] == 6
    assert hires == {"BUF": 3, "SPM": 3}    # not all six into one office
    assert alloc["max_capacity_pct_after"] == max(o["capacity_pct_after"] for o in doc["offices"] if o["hires"])
