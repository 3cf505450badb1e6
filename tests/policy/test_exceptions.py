"""Field office directors' exceptions: they override the computed level, are audited, and survive reclassification."""

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from caseload.cli import app
from caseload.core import clock
from caseload.core.errors import Conflict, UsageError
from caseload.core.models import AuditEvent
from caseload.docket.models import Case
from caseload.policy import services
from caseload.policy.models import PriorityException
from tests.policy.conftest import classify, make_case

pytestmark = pytest.mark.django_db
TODAY = dt.date(2023, 3, 1)


@pytest.fixture(autouse=True)
def _today():
    with clock.frozen(TODAY):
        yield


def levels(case) -> tuple:
    return Case.objects.filter(pk=case.pk).values_list("priority", "priority_rank", "priority_rule_set").get()


def grant(case, **kwargs):
    return services.do_grant_exception(a_number=case.person.a_number, **{
        "level": "national_security", "reason": "Referred by a partner agency", "approved_by": "J. Rivera, FOD",
        "actor_label": "test", **kwargs})


def test_exception_overrides_the_computed_level_now_and_at_every_reclassification(shipped):
    case = make_case()
    services.do_reclassify(actor_label="test")
    assert levels(case) == ("none", 4, "dhs-2021")
    row = grant(case)
    assert (row["level"], row["rule_set"], row["approved_by"], row["decided_on"]) == (
        "national_security", "dhs-2021", "J. Rivera, FOD", "2023-03-01")
    assert levels(case) == ("national_security", 1, "dhs-2021")  # stored at once
    assert services.do_reclassify(actor_label="test").changed == 0
    assert levels(case) == ("national_security", 1, "dhs-2021")
    assert classify(shipped["dhs-2021"], case, TODAY) == ("national_security", "fdo_exception")
    explained = services.explain(case.person.a_number, actor_label="test")
    assert (explained["priority"], explained["rule"]) == ("national_security", "fdo_exception")
    assert explained["reasons"][0] == {"kind": "exception", "code": "fdo_exception", "level": "national_security",
                                       "label": "Field office director's exception: Referred by a partner agency",
                                       "approved_by": "J. Rivera, FOD", "decided_on": "2023-03-01",
                                       "exception_id": row["id"]}
    assert explained["reasons"][1]["code"] == "no_rule_matched"
    event = AuditEvent.objects.get(action="policy.exception_granted")
    assert (event.object_id, event.office_id) == (str(case.pk), case.office_id)
    assert event.details["computed_level"] == "none" and event.details["approved_by"] == "J. Rivera, FOD"


def test_exception_applies_only_from_its_decision_date_and_only_under_its_rule_set(shipped):
    case = make_case()
    grant(case, decided_on=dt.date(2023, 2, 1))
    doc = shipped["dhs-2021"]
    assert classify(doc, case, dt.date(2023, 1, 31)) == ("none", None)
    assert classify(doc, case, dt.date(2023, 2, 1)) == ("national_security", "fdo_exception")
    assert classify(shipped["pep-2014"], case, dt.date(2016, 1, 1)) == ("none", None)


def test_revoking_restores_the_computed_level(shipped):
    case = make_case(gang_flag=True)
    services.do_reclassify(actor_label="test")
    row = grant(case, level="none", decided_on=dt.date(2023, 1, 10))
    assert levels(case) == ("none", 4, "dhs-2021")
    revoked = services.do_revoke_exception(exception_id=row["id"], reason="Facts reviewed", actor_label="test")
    assert revoked["revoked_on"] == "2023-03-01" and revoked["revoke_reason"] == "Facts reviewed"
    assert levels(case) == ("public_safety", 2, "dhs-2021")
    assert classify(shipped["dhs-2021"], case, dt.date(2023, 2, 28)) == ("none", "fdo_exception")  # history kept
    assert classify(shipped["dhs-2021"], case, TODAY) == ("public_safety", "ps_gang")
    assert AuditEvent.objects.filter(action="policy.exception_revoked", object_id=str(case.pk)).count() == 1
    with pytest.raises(Conflict) as err:
        services.do_revoke_exception(exception_id=row["id"], reason="again", actor_label="test")
    assert err.value.code == "exception_revoked"


def test_exception_not_stored_on_a_case_classified_under_another_set(shipped):
    case = make_case()
    services.do_reclassify(as_of=dt.date(2016, 1, 1), actor_label="test")
    grant(case)
    assert levels(case) == ("none", 4, "pep-2014")


@pytest.mark.parametrize("kwargs, code", [
    ({"level": "P1"}, "unknown_level"),
    ({"reason": "  "}, "reason_required"),
    ({"approved_by": ""}, "approver_required"),
    ({"decided_on": dt.date(2023, 3, 2)}, "decided_on_in_future"),
])
def test_invalid_exceptions_are_refused_and_nothing_is_written(shipped, kwargs, code):
    case = make_case()
    before = AuditEvent.objects.count()
    with pytest.raises(UsageError) as err:
        grant(case, **kwargs)
    assert err.value.code == code
    assert not PriorityException.objects.exists() and AuditEvent.objects.count() == before


def test_one_open_exception_per_case_and_rule_set(shipped):
    case = make_case()
    grant(case)
    with pytest.raises(Conflict) as err:
        grant(case, level="none")
    assert err.value.code == "exception_exists"
    assert PriorityException.objects.count() == 1


def test_revocation_cannot_precede_the_decision_and_on_the_same_day_voids_it(shipped):
    case = make_case()
    row = grant(case)
    with pytest.raises(UsageError) as err:
        services.do_revoke_exception(exception_id=row["id"], reason="x", revoked_on=dt.date(2023, 2, 28), actor_label="test")
    assert err.value.code == "revoked_before_decided"
    assert PriorityException.objects.get().revoked_on is None
    services.do_revoke_exception(exception_id=row["id"], reason="entered in error", revoked_on=TODAY, actor_label="test")
    assert classify(shipped["dhs-2021"], case, TODAY) == ("none", None)


def test_cli_grant_list_revoke(shipped):
    case = make_case(office="ATL")
    runner = CliRunner()
    granted = runner.invoke(app, ["policy", "exception", "grant", case.person.a_number, "--level", "border_security",
                                  "--reason", "Apprehended at the border in 2022", "--approved-by", "FOD Atlanta",
                                  "--format", "json"])
    assert granted.exit_code == 0, granted.stderr
    exception_id = json.loads(granted.stdout)["id"]
    listed = json.loads(runner.invoke(app, ["policy", "exception", "list", "--office", "ATL", "--format", "json"]).stdout)
    assert [r["id"] for r in listed] == [exception_id] and listed[0]["a_number"] == case.person.a_number_display
    assert json.loads(runner.invoke(app, ["policy", "exception", "list", "--office", "WAS", "--format", "json"]).stdout) == []
    revoked = runner.invoke(app, ["policy", "exception", "revoke", str(exception_id), "--reason", "Entered error",
                                  "--format", "json"])
    assert json.loads(revoked.stdout)["revoked_on"] == "2023-03-01"
    active = runner.invoke(app, ["policy", "exception", "list", "--active-on", "2023-03-01", "--format", "json"])
    assert json.loads(active.stdout) == []
