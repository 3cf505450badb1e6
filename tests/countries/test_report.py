"""Versioned tiers and the country cooperation report (exact figures on hand-built data)."""

from __future__ import annotations

import datetime as dt

import pytest

from caseload.core import clock
from caseload.core.errors import Conflict, NotFound, UsageError
from caseload.core.models import AuditEvent
from caseload.countries import config
from caseload.countries.models import CooperationTierChange, Country
from caseload.countries.services import COOPERATIVE_BASELINE_SOURCE, REPORT_KEYS, access_country, do_set_tier, report, tier_history, tiers_as_of
from tests.countries.builders import ACTOR, TODAY, days_ago, final_order_case, history

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def today():
    with clock.frozen(TODAY):
        yield TODAY


def test_every_country_has_a_reference_tier_version():
    assert CooperationTierChange.objects.filter(effective_on=dt.date(2016, 8, 1)).count() == Country.objects.count()
    assert tiers_as_of(TODAY)["MX"].tier == "cooperative"
    assert tiers_as_of(TODAY)["CN"].quota == 1200


def test_tier_changes_are_versioned_with_date_and_source_and_take_effect_on_their_date():
    first_new_event = (AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    haiti = access_country("haiti")
    do_set_tier(country=haiti, tier="uncooperative", effective_on=dt.date(2026, 3, 1), source="ICE notice 2026-03 (test)",
                actor_label=ACTOR)
    do_set_tier(country=haiti, tier="delayed", effective_on=dt.date(2026, 9, 1), source="ICE notice 2026-09 (test)",
                actor_label=ACTOR)
    haiti.refresh_from_db()
    assert haiti.cooperation_tier == "uncooperative"  # the September change is not in force yet
    assert [(h["effective_on"], h["tier"], h["recorded_by"]) for h in tier_history(haiti)] == [
        ("2016-08-01", "delayed", "reference data"), ("2026-03-01", "uncooperative", ACTOR), ("2026-09-01", "delayed", ACTOR)]
    assert [tiers_as_of(d, ["HT"])["HT"].tier for d in (dt.date(2016, 1, 1), dt.date(2026, 2, 28), TODAY,
                                                         dt.date(2026, 9, 1))] == [
        "delayed", "delayed", "uncooperative", "delayed"]
    assert list(AuditEvent.objects.filter(id__gte=first_new_event).order_by("id").values_list("action", "object_id")) == [
        ("countries.tier_changed", "HT")] * 2


@pytest.mark.parametrize("kwargs, code", [
    ({"tier": "friendly", "source": "x"}, "invalid_tier"),
    ({"tier": "delayed", "source": " "}, "source_required"),
    ({"tier": "restricted", "source": "x"}, "quota_required"),
    ({"tier": "restricted", "source": "x", "quota": -1}, "invalid_quota"),
])
def test_bad_tier_changes_are_refused_and_nothing_is_recorded(kwargs, code):
    before = (CooperationTierChange.objects.count(), AuditEvent.objects.count())
    with pytest.raises(UsageError) as err:
        do_set_tier(country=access_country("HT"), effective_on=TODAY, actor_label=ACTOR, **kwargs)
    assert err.value.code == code
    assert (CooperationTierChange.objects.count(), AuditEvent.objects.count()) == before


def test_two_changes_on_one_day_conflict():
    do_set_tier(country=access_country("HT"), tier="uncooperative", effective_on=TODAY, source="a", actor_label=ACTOR)
    with pytest.raises(Conflict):
        do_set_tier(country=access_country("HT"), tier="delayed", effective_on=TODAY, source="b", actor_label=ACTOR)


def test_unknown_country_is_a_clear_error():
    with pytest.raises(NotFound) as err:
        access_country("Atlantis")
    assert "no country 'Atlantis'" in err.value.message


@pytest.fixture
def docket():
    """Haiti (officially delayed) measured uncooperative; Mexico measured cooperative; Ghana thin."""
    for _ in range(3):
        final_order_case("HT")
    final_order_case("HT", final_order_date=TODAY + dt.timedelta(days=1))   # ordered after the as-of date
    final_order_case("HT", status="closed", closed_on=TODAY, close_reason="removed")
    haiti = [final_order_case("HT", final_order_date=dt.date(2025, 1, 1)) for _ in range(12)]
    for i, case in enumerate(haiti[:6]):                                    # 6 refused in the window
        history(case, requested_on=days_ago(200), status="refused", decided_on=days_ago(100 - i), reason="no answer")
    for i, case in enumerate(haiti[6:10]):                                  # issued after 100, 110, 120, 130 days
        history(case, requested_on=days_ago(200), status="issued", decided_on=days_ago(200 - 100 - 10 * i),
                expires_on=TODAY + dt.timedelta(days=100))
    history(haiti[10], requested_on=days_ago(120))                          # pending, stalled
    history(haiti[11], requested_on=days_ago(30), status="interview")       # pending
    history(haiti[0], requested_on=days_ago(500), status="refused", decided_on=days_ago(400), reason="old")  # outside window

    mexico = [final_order_case("MX", final_order_date=dt.date(2025, 6, 1)) for _ in range(11)]
    for i, case in enumerate(mexico[:10]):
        history(case, requested_on=days_ago(60), status="issued" if i < 9 else "expired", decided_on=days_ago(60 - 20 - i),
                expires_on=TODAY + dt.timedelta(days=10) if i < 9 else days_ago(1))
    history(mexico[10], requested_on=days_ago(10), status="withdrawn", closed_on=days_ago(5))

    history(final_order_case("GH"), requested_on=days_ago(95))
    return haiti, mexico


def row(rows, code):
    return next(r for r in rows if r["country"] == code)


def test_report_figures_are_exact_and_the_suggestion_can_disagree_with_the_official_tier(docket):
    rows = report(as_of=TODAY)
    assert all(tuple(r) == REPORT_KEYS for r in rows)
    delayed_2016 = ("Estimate: one of the 62 cooperative-but-slow countries of OIG-17-51 by this product's reckoning; "
                    "no public list names them")
    assert row(rows, "HT") == {
        "country": "HT", "tier": "delayed", "tier_source": delayed_2016, "tier_effective_on": "2016-08-01",
        "tier_estimate": True, "suggested_tier": "uncooperative", "suggested_tier_held_back": None, "open_final_orders": 15,
        "pending_requests": 2, "median_days_to_issue": 115.0, "refusal_rate": 0.6, "pending_over_90_days": 1,
        "quota_remaining": None}
    assert row(rows, "MX") == {
        "country": "MX", "tier": "cooperative", "tier_source": COOPERATIVE_BASELINE_SOURCE, "tier_effective_on": "2016-08-01",
        "tier_estimate": False, "suggested_tier": "cooperative", "suggested_tier_held_back": None, "open_final_orders": 11,
        "pending_requests": 0, "median_days_to_issue": 24.5, "refusal_rate": 0.0, "pending_over_90_days": 0,
        "quota_remaining": None}
    assert row(rows, "GH") == {   # left the uncooperative list by May 2017 (ICE): at risk, an estimate
        "country": "GH", "tier": "delayed",
        "tier_source": "Estimate: left ICE's uncooperative list between May 2016 and May 2017 (ICE, July 2017); taken as at risk",
        "tier_effective_on": "2017-05-16", "tier_estimate": True, "suggested_tier": None,
        "suggested_tier_held_back": "0 decisions, 10 needed; 1 pending request, 10 needed",
        "open_final_orders": 1, "pending_requests": 1,
        "median_days_to_issue": None, "refusal_rate": None, "pending_over_90_days": 1, "quota_remaining": None}
    assert row(rows, "CN") == {
        "country": "CN", "tier": "restricted",
        "tier_source": "OIG-17-51 (13 Apr 2017): limits the number of travel documents it issues; "
                       "the yearly quota of 1200 is an estimate",
        "tier_effective_on": "2016-08-01", "tier_estimate": True, "suggested_tier": None,
        "suggested_tier_held_back": "0 decisions, 10 needed; 0 pending requests, 10 needed",
        "open_final_orders": 0, "pending_requests": 0,
        "median_days_to_issue": None, "refusal_rate": None, "pending_over_90_days": 0, "quota_remaining": 1200}
    assert [r["country"] for r in rows[:3]] == ["HT", "MX", "GH"]
    assert not any(r["country"] == "FR" for r in rows)  # nothing on record and cooperative


def test_report_as_of_an_earlier_date_counts_what_was_pending_then(docket):
    rows = report(as_of=days_ago(150))
    haiti = row(rows, "HT")
    # On that day the 10 decided requests (requested 200 days before TODAY) were pending, none
    # yet for 90 days; the only decision in the year before was the old refusal (too few to measure).
    assert (haiti["pending_requests"], haiti["pending_over_90_days"], haiti["refusal_rate"], haiti["median_days_to_issue"]) == (
        10, 0, 1.0, None)
    assert haiti["open_final_orders"] == 12 and haiti["suggested_tier"] == "cooperative"


def test_quota_remaining_counts_documents_issued_in_the_quota_year():
    for i in range(3):
        history(final_order_case("IN"), requested_on=dt.date(2025, 9, 1), status="issued",
                decided_on=dt.date(2025, 9, 30) + dt.timedelta(days=i), expires_on=dt.date(2026, 12, 1))
    assert row(report(as_of=TODAY), "IN")["quota_remaining"] == 2400 - 2   # one was issued in FY2025


@pytest.mark.parametrize("figures, expected", [
    ({"refusal_rate": 0.30, "median_days_to_issue": 10, "pending_over_90_share": 0, "decisions": 10, "pending": 0},
     "uncooperative"),
    ({"refusal_rate": 0.29, "median_days_to_issue": 10, "pending_over_90_share": 0, "decisions": 10, "pending": 0}, "delayed"),
    ({"refusal_rate": 0.09, "median_days_to_issue": 59, "pending_over_90_share": 0.49, "decisions": 10, "pending": 10},
     "cooperative"),
    ({"refusal_rate": 0.0, "median_days_to_issue": 60, "pending_over_90_share": 0, "decisions": 10, "pending": 0}, "delayed"),
    ({"refusal_rate": 0.0, "median_days_to_issue": 270, "pending_over_90_share": 0, "decisions": 10, "pending": 0},
     "uncooperative"),
    ({"refusal_rate": 0.0, "median_days_to_issue": 10, "pending_over_90_share": 0.8, "decisions": 0, "pending": 10},
     "uncooperative"),
    ({"refusal_rate": 0.9, "median_days_to_issue": 400, "pending_over_90_share": 0.9, "decisions": 9, "pending": 9}, None),
    ({"refusal_rate": 1.0, "median_days_to_issue": 400, "pending_over_90_share": 0.0, "decisions": 9, "pending": 10},
     "cooperative"),
])
def test_suggested_tier_thresholds(figures, expected):
    assert config.suggest_tier(has_quota=False, **figures) == expected


def test_a_quota_country_is_suggested_restricted_unless_measured_uncooperative():
    base = {"median_days_to_issue": 100, "pending_over_90_share": 0.0, "decisions": 20, "pending": 0}
    assert config.suggest_tier(refusal_rate=0.1, has_quota=True, **base) == "restricted"
    assert config.suggest_tier(refusal_rate=0.5, has_quota=True, **base) == "uncooperative"


def test_a_held_back_suggestion_says_how_much_evidence_is_missing():
    from caseload.countries import config as cfgmod

    assert cfgmod.held_back(decisions=7, pending=1) == "7 decisions, 10 needed; 1 pending request, 10 needed"
    assert cfgmod.held_back(decisions=1, pending=0) == "1 decision, 10 needed; 0 pending requests, 10 needed"
    case = final_order_case("MX")
    for i in range(7):
        history(case, requested_on=days_ago(100 + i), status="issued", decided_on=days_ago(50), expires_on=days_ago(-100))
    mexico = row(report(as_of=TODAY, only=["MX"]), "MX")
    assert (mexico["suggested_tier"], mexico["suggested_tier_held_back"]) == (
        None, "7 decisions, 10 needed; 0 pending requests, 10 needed")
    for i in range(3):
        history(case, requested_on=days_ago(120 + i), status="issued", decided_on=days_ago(60), expires_on=days_ago(-100))
    mexico = row(report(as_of=TODAY, only=["MX"]), "MX")
    assert (mexico["suggested_tier"], mexico["suggested_tier_held_back"]) == ("cooperative", None)
