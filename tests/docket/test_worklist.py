"""The officer worklist and the national overdue summary, on hand-built and generated dockets."""

import collections
import datetime as dt
import json

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from caseload.cli import app
from caseload.core import clock
from caseload.core.errors import Conflict, NotFound
from caseload.countries.models import TravelDocumentRequest
from caseload.docket import anumber, tasks, worklist
from caseload.docket.models import Case
from caseload.offices.models import FieldOffice
from tests import factories
from tests.docket.conftest import TODAY

pytestmark = pytest.mark.django_db
RULES = tasks.load_rules()


def days(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


def case_for(officer, *, due: int, rank=None, priority="", office="WAS", **fields):
    """A pending case whose only task within the horizon is its check-in, due in ``due`` days."""
    defaults = {"officer": officer, "next_report_due": days(due), "last_contact_on": days(-1), "opened_on": days(-400),
                "proceedings_started_on": days(-400), "stage_changed_on": days(-400), "priority_rank": rank,
                "priority": priority}
    return factories.case(factories.person(office), **{**defaults, **fields})


def test_worklist_lists_overdue_first_then_priority_then_due_date(today, officer):
    other = factories.officer("WAS", last_name="Other")
    a = case_for(officer, due=-1, rank=2, priority="P2")
    b = case_for(officer, due=-3, rank=1, priority="P1")
    c = case_for(officer, due=-10)                       # unclassified: after every classified case
    d = case_for(officer, due=5, rank=1, priority="P1")  # due, not overdue
    e = case_for(officer, due=-2, rank=3, priority="P3")
    case_for(officer, due=-5, status="closed", closed_on=days(-1), close_reason="transferred")
    case_for(other, due=-7)
    case_for(officer, due=15)                            # beyond the 14-day horizon
    ns = factories.case(factories.person(national_security_flag=True), officer=officer, next_report_due=days(6),
                        last_contact_on=days(-1), ns_reviewed_on=days(-1), opened_on=days(-400),
                        proceedings_started_on=days(-400), stage_changed_on=days(-400), priority_rank=None, priority="")

    doc = worklist.officer_worklist(officer=officer.pk, as_of=TODAY)

    def row(case, due, overdue, priority, national_security=False):
        return {"a_number": anumber.display(case.person.a_number), "case_id": case.pk, "task": "check_in",
                "due": days(due).isoformat(), "overdue": overdue, "priority": priority,
                "national_security": national_security}

    # a national-security case's task comes first, even unclassified and not overdue
    assert doc["tasks"] == [row(ns, 6, False, None, True), row(b, -3, True, "P1"), row(a, -1, True, "P2"),
                            row(e, -2, True, "P3"), row(c, -10, True, None), row(d, 5, False, "P1")]
    assert set(doc) == {"officer", "as_of", "tasks", "counts"}
    assert (doc["officer"], doc["as_of"]) == (officer.pk, TODAY.isoformat())
    assert doc["counts"]["cases"] == 7 and doc["counts"]["tasks"] == 6 and doc["counts"]["overdue"] == 4
    assert doc["counts"]["by_task"]["check_in"] == {"tasks": 6, "overdue": 4}
    assert sum(v["tasks"] for v in doc["counts"]["by_task"].values()) == 6


def test_tasks_of_one_case_follow_due_date_then_the_rule_order(today, officer):
    case = case_for(officer, due=-30, last_contact_on=days(-200), stage="final_order", final_order_date=days(-100),
                    reporting_cadence_days=60)  # stale: last contact + 60 + the 30-day grace
    doc = worklist.officer_worklist(officer=officer.pk, as_of=TODAY)
    got = [(t["task"], t["due"]) for t in doc["tasks"] if t["case_id"] == case.pk]
    assert got == [("stale_no_contact", days(-110).isoformat()), ("failure_to_depart_warning", days(-70).isoformat()),
                   ("travel_document_request", days(-70).isoformat()), ("check_in", days(-30).isoformat()),
                   ("custody_review", days(-10).isoformat())]


def test_an_unknown_officer_is_a_clear_error(today):
    with pytest.raises(NotFound) as err:
        worklist.officer_worklist(officer=999_999, as_of=TODAY)
    assert err.value.code == "unknown_officer"


def test_bulk_loaded_cases_are_derived_before_tasks_are_read(today, officer):
    """A case a bulk load wrote without its derived check-in facts gets them on the first read,
    instead of the read failing: no page or command waits for `caseload tasks refresh`."""
    from caseload.core.models import AuditEvent
    from caseload.docket.models import Case

    case = factories.case(factories.person(), officer=officer, derived_current=False)
    doc = worklist.officer_worklist(officer=officer.pk, as_of=TODAY)
    assert doc["counts"]["cases"] == 1 and Case.objects.get(pk=case.pk).derived_current
    refreshed = AuditEvent.objects.filter(action="docket.derived_refreshed")
    assert [(e.actor_label, e.details["cases"]) for e in refreshed] == [("system:derive", 1)]
    worklist.overdue_summary(as_of=TODAY)
    assert refreshed.count() == 1, "nothing stale: no second refresh"


# --- the national overdue summary ----------------------------------------------------------------

def test_overdue_summary_lists_unassigned_and_stale_national_security_cases(today, officer):
    unassigned = case_for(None, due=3, opened_on=days(-2), proceedings_started_on=days(-2), stage_changed_on=days(-2))
    ns_person = factories.person(national_security_flag=True)
    stale_ns = factories.case(ns_person, officer=officer, next_report_due=days(10), last_contact_on=days(-20),
                              ns_reviewed_on=days(-31), opened_on=days(-400), proceedings_started_on=days(-400),
                              stage_changed_on=days(-400))
    fresh_ns = factories.case(factories.person(national_security_flag=True), officer=officer, next_report_due=days(10),
                              last_contact_on=days(-20), ns_reviewed_on=days(-30))
    case_for(officer, due=-4)
    doc = worklist.overdue_summary(as_of=TODAY)
    assert set(doc) == {"as_of", "office", "rule_set", "task_types", "totals", "offices", "officers",
                        "unassigned_cases", "stale_national_security_cases", "officers_on_leave"}
    assert doc["unassigned_cases"] == [{"case_id": unassigned.pk, "a_number": anumber.display(unassigned.person.a_number),
                                        "office": "WAS", "opened_on": days(-2).isoformat(), "stage": "pending"}]
    assert doc["stale_national_security_cases"] == [{
        "case_id": stale_ns.pk, "a_number": anumber.display(ns_person.a_number), "office": "WAS", "officer": officer.pk,
        "last_contact_on": days(-20).isoformat(), "ns_reviewed_on": days(-31).isoformat(),
        "reasons": ["national_security_review"]}]
    assert fresh_ns.pk not in {r["case_id"] for r in doc["stale_national_security_cases"]}
    expected = {code: 0 for code in RULES.codes} | {"assign_officer": 1, "national_security_review": 1, "check_in": 1}
    assert doc["totals"] == {"open_cases": 4, "overdue": 3, "by_task": expected}
    assert doc["offices"] == [{"office": "WAS", "open_cases": 4, "overdue": 3, "by_task": expected}]
    assert doc["officers"] == [{"officer": officer.pk, "name": officer.name, "office": "WAS", "open_cases": 3, "overdue": 2,
                                "by_task": expected | {"assign_officer": 0}}]


def test_overdue_summary_of_one_office_leaves_the_others_out(today, officer):
    case_for(officer, due=-1)
    case_for(factories.officer("ATL"), due=-1, office="ATL")
    doc = worklist.overdue_summary(office="atl", as_of=TODAY)
    assert doc["office"] == "ATL"
    assert [o["office"] for o in doc["offices"]] == ["ATL"] and doc["totals"]["overdue"] == 1
    with pytest.raises(NotFound):
        worklist.overdue_summary(office="XXX", as_of=TODAY)


def reference_counts(as_of):
    """Overdue counts by (officer, office, task) from derive() over every open case."""
    cols, td = worklist.fetch_cases("1 = 1", [])
    found = tasks.derive(cols, as_of=as_of, rules=RULES, td=td)
    out = collections.Counter()
    for i, t in zip(found.case_index[found.overdue], found.task[found.overdue], strict=True):
        out[(int(cols["officer_id"][i]), int(cols["office_id"][i]), RULES.codes[t])] += 1
    return out


def summary_counts(doc):
    codes = dict(FieldOffice.objects.values_list("code", "id"))
    out = collections.Counter()
    per_office = collections.Counter()
    for o in doc["officers"]:
        for code, n in o["by_task"].items():
            if n:
                out[(o["officer"], codes[o["office"]], code)] += n
    for o in doc["offices"]:
        for code, n in o["by_task"].items():
            per_office[(codes[o["office"]], code)] += n
    return out, per_office


def assert_paths_agree(as_of):
    ref = reference_counts(as_of)
    got, per_office = summary_counts(worklist.overdue_summary(as_of=as_of))
    assert got == collections.Counter({k: v for k, v in ref.items() if k[0]})
    office_ref = collections.Counter()
    for (_, office, code), n in ref.items():
        office_ref[(office, code)] += n
    assert per_office == collections.Counter({k: v for k, v in office_ref.items() if v})


def test_sql_counts_equal_the_derivation_on_a_generated_docket(tmp_path):
    from caseload.docket.checkins import refresh_derived
    from caseload.docket.lifecycle import access_case, do_record_review, do_record_stay, do_serve_warning
    from caseload.ingest.generate import generate_docket

    generate_docket(scale=0.0015, seed=5, as_of=dt.date(2026, 11, 1), weights_path=None)
    refresh_derived(actor_label="test")
    with clock.frozen(dt.date(2026, 11, 1)):
        finals = list(Case.objects.filter(stage="final_order", officer__isnull=False).values_list("id", flat=True)[:40])
        for n, case_id in enumerate(finals):  # vary the facts the rules read
            case = access_case(case_id)
            if n % 4 == 0:
                do_serve_warning(case=case, actor_label="test")
            elif n % 4 == 1:
                do_record_review(case=case, kind="custody", actor_label="test")
            elif n % 4 == 2:
                do_record_stay(case=case, until=dt.date(2026, 12, 1), reason="I-246 granted", actor_label="test")
    for as_of in (dt.date(2026, 11, 1), dt.date(2026, 11, 30), dt.date(2026, 12, 2), dt.date(2025, 6, 1)):
        assert_paths_agree(as_of)


# Offsets from the as-of day, rich in the rules' boundaries (a day either side of 2, 14, 30,
# 90 and 180 days) so that an off-by-one in either path shows.
BOUNDARIES = sorted({s * (b + d) for b in (0, 2, 14, 30, 90, 180) for d in (-1, 0, 1) for s in (-1, 1)} | {-400, 60})
OFFSET = st.one_of(st.none(), st.sampled_from(BOUNDARIES), st.integers(-400, 60))


@st.composite
def random_case(draw):
    stage = draw(st.sampled_from(["pending", "appeal", "final_order"]))
    fields = {
        "stage": stage, "unit": draw(st.sampled_from(["non_detained", "detained", "atd"])),
        "officer_slot": draw(st.sampled_from([None, 0, 1])),
        "opened": draw(st.integers(-900, 0)),
        "next_report_due": draw(OFFSET), "last_contact_on": draw(OFFSET), "stay": draw(OFFSET),
        "warning": draw(OFFSET), "ns_reviewed": draw(OFFSET), "td_followed": draw(OFFSET),
        "rc_owed": draw(OFFSET), "hit_owed": draw(OFFSET), "ftr": draw(st.one_of(st.none(), st.none(), st.none(), OFFSET)), "claim_raised": draw(OFFSET),
        "custody_count": draw(st.integers(0, 2)), "appeal_pending": stage == "appeal" or draw(st.booleans()),
        "final_age": draw(st.one_of(st.sampled_from([b for b in BOUNDARIES if b >= 0]), st.integers(0, 400))),
        # Mostly people outside the small sets, so that the SQL path is exercised for them.
        "ns": draw(st.sampled_from([False, False, False, True])),
        "claim": draw(st.sampled_from(["none", "none", "none", "open", "rejected"])),
        "tds": draw(st.lists(st.tuples(st.sampled_from(["requested", "interview", "issued", "refused", "expired", "withdrawn"]),
                                       st.one_of(st.sampled_from([b for b in BOUNDARIES if b <= 0]),
                                                 st.integers(-200, 0)), OFFSET), max_size=2)),
    }
    return fields


def build(spec, officers):
    def at(n):
        return None if n is None else days(n)

    person = factories.person(national_security_flag=spec["ns"], citizenship_claim=spec["claim"],
                              citizenship_claim_raised_on=at(spec["claim_raised"]), failed_to_report_on=at(spec["ftr"]))
    opened = days(spec["opened"])
    stage = spec["stage"]
    case = factories.case(
        person, officer=None if spec["officer_slot"] is None else officers[spec["officer_slot"]], unit=spec["unit"],
        stage=stage, opened_on=opened, proceedings_started_on=opened, stage_changed_on=opened,
        final_order_date=max(opened, days(-spec["final_age"])) if stage == "final_order" else None,
        appeal_pending=spec["appeal_pending"] and stage != "pending",
        appeal_filed_on=opened if stage == "appeal" else None,
        next_report_due=at(spec["next_report_due"]), last_contact_on=at(spec["last_contact_on"]),
        stay_of_removal_until=at(spec["stay"]), warning_served_on=at(spec["warning"]),
        ns_reviewed_on=at(spec["ns_reviewed"]), td_followed_up_on=at(spec["td_followed"]),
        records_check_owed_since=at(spec["rc_owed"]), hit_review_owed_since=at(spec["hit_owed"]),
        custody_review_count=spec["custody_count"])
    for status, requested, expires in spec["tds"]:
        decided = days(requested) if status in ("issued", "refused") else None
        TravelDocumentRequest.objects.create(case=case, office=case.office, country_id="MX", requested_on=days(requested),
                                             status=status, decided_on=decided, expires_on=at(expires))


def boundary_grid():
    """One case per rule input at each boundary offset, the rest of the case neutral."""
    blank = {"stage": "pending", "unit": "non_detained", "officer_slot": 0, "opened": -500, "next_report_due": 100,
             "last_contact_on": -1, "stay": None, "warning": None, "ns_reviewed": None, "td_followed": None, "rc_owed": None,
             "hit_owed": None, "ftr": None, "claim_raised": None, "custody_count": 0, "appeal_pending": False,
             "final_age": 0, "ns": False, "claim": "none", "tds": []}
    final = {**blank, "stage": "final_order", "custody_count": 2}
    for off in BOUNDARIES:
        for field in ("next_report_due", "last_contact_on", "rc_owed", "hit_owed"):
            yield {**blank, field: off}
        yield {**blank, "ns": True, "ns_reviewed": off}
        yield {**blank, "claim": "open", "claim_raised": off}
        yield {**blank, "ftr": off}
        yield {**final, "stay": off, "final_age": 60}
        yield {**final, "td_followed": off, "final_age": 200, "tds": [("interview", -100, None)]}
        for status in ("requested", "issued", "refused"):
            yield {**final, "final_age": 200, "tds": [(status, min(off, 0), 0)]}
            yield {**final, "final_age": 200, "tds": [("issued", -150, off)]}
        if off >= 0:
            for unit in ("non_detained", "detained", "atd"):
                for done in (0, 1, 2):
                    yield {**final, "final_age": off, "unit": unit, "custody_count": done}
            yield {**final, "final_age": off, "warning": -off - 1}
            yield {**final, "final_age": off, "warning": -off}
            yield {**final, "final_age": off, "appeal_pending": True}


def test_sql_counts_equal_the_derivation_at_every_boundary(officer):
    officers = [officer, factories.officer("ATL")]
    for spec in boundary_grid():
        build(spec, officers)
    for shift in (0, 1):
        assert_paths_agree(days(shift))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(specs=st.lists(random_case(), min_size=1, max_size=10))
def test_sql_counts_equal_the_derivation_on_random_cases(specs):
    with transaction.atomic():
        officers = [factories.officer("WAS"), factories.officer("ATL")]
        for spec in specs:
            build(spec, officers)
        assert_paths_agree(TODAY)
        transaction.set_rollback(True)


# --- command line -------------------------------------------------------------------------------

def test_worklist_and_overdue_commands_derive_bulk_loaded_cases_first(officer):
    factories.case(factories.person(), officer=officer, derived_current=False, next_report_due=dt.date(2026, 1, 1))
    runner = CliRunner()
    result = runner.invoke(app, ["worklist", "--officer", str(officer.pk), "--as-of", "2026-01-05", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert set(doc) == {"officer", "as_of", "tasks", "counts"}
    assert set(doc["tasks"][0]) == {"a_number", "case_id", "task", "due", "overdue", "priority", "national_security"}
    assert "derived check-in facts for 1 bulk-loaded cases" in result.stderr
    assert not Case.objects.filter(derived_current=False).exists()

    result = runner.invoke(app, ["overdue", "--office", "WAS", "--as-of", "2026-01-05", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["totals"]["by_task"]["check_in"] == 1

    bad = runner.invoke(app, ["worklist", "--officer", "999999", "--format", "json"])
    assert bad.exit_code == 2 and json.loads(bad.stdout)["error"]["code"] == "unknown_officer"
    bad_date = runner.invoke(app, ["overdue", "--as-of", "yesterday"])
    assert bad_date.exit_code == 2 and "--as-of must be a date" in bad_date.stderr


# --- the backlog by office ----------------------------------------------------------------------

def test_task_shares_count_every_task_of_the_office_and_the_overdue_ones(today, officer):
    case_for(officer, due=-3, reporting_cadence_days=60)                      # check-in overdue; stale not yet
    case_for(officer, due=5, last_contact_on=days(-100), reporting_cadence_days=60)   # stale: -100 + 60 + 30 < 0
    factories.case(factories.person("ATL"), officer=factories.officer("ATL"), next_report_due=days(10),
                   last_contact_on=days(-1))
    rows = {r["office"]: r for r in worklist.task_shares_by_office(as_of=TODAY)}
    assert rows["WAS"] == {"office": "WAS", "open_cases": 2, "tasks": 4, "overdue": 2, "overdue_share": 0.5}
    assert rows["ATL"] == {"office": "ATL", "open_cases": 1, "tasks": 2, "overdue": 0, "overdue_share": 0.0}
    assert set(rows) == {"WAS", "ATL"}   # offices without open cases are left out


@pytest.mark.slow
def test_generated_backlog_follows_each_offices_load():
    """docs/worklist.md targets at small scale: overdue share rises with capacity %, Washington at
    least twice El Paso, the nation between 20 % and 60 %."""
    from scipy.stats import spearmanr

    from caseload.docket.checkins import refresh_derived
    from caseload.ingest import generate as gen
    from caseload.ingest import synthetic

    as_of = dt.date(2026, 11, 1)
    gen.generate_docket(scale=0.01, seed=1, as_of=as_of, weights_path=None)
    refresh_derived(actor_label="test")
    rows = {r["office"]: r for r in worklist.task_shares_by_office(as_of=as_of)}
    inputs = gen.build_inputs(scale=1.0, seed=1, as_of=as_of)
    plans = synthetic.plan(inputs)
    capacity = dict(zip([p.code for p in plans], synthetic.load_ratio(inputs, plans), strict=True))
    codes = sorted(rows)
    assert len(codes) == 24
    rho = spearmanr([capacity[c] for c in codes], [rows[c]["overdue_share"] for c in codes]).statistic
    assert rho >= 0.8
    assert rows["WAS"]["overdue_share"] >= 2 * rows["ELP"]["overdue_share"]
    national = sum(r["overdue"] for r in rows.values()) / sum(r["tasks"] for r in rows.values())
    assert 0.20 <= national <= 0.60
