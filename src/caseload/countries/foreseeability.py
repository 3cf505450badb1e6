"""Foreseeability reviews: final-order cases whose removal may not be reasonably foreseeable.

Zadvydas v. Davis (2001) and 8 CFR 241.4/241.13: past the presumptive six months, continued
detention needs removal to be reasonably foreseeable; the Jean Jacques case (docs/domain.md §4)
is what happens without a review. An open final-order case is flagged for a documented review
(``data/travel_documents.toml`` [foreseeability], thresholds as data) when, on the as-of date,

- a travel-document request on the case was refused (``document_refused``), or
- its country's tier in force that day is one of ``review_tiers`` (delayed, restricted,
  uncooperative) and no valid travel document is held (``country_tier``), or
- ``no_document_after_days`` have passed since the final order and no valid document is held
  (``no_document``).

The review carries the criminal-history facts a reviewer needs (a snapshot taken when the case
is flagged). A decision needs the structured checklist, a rationale of ``min_rationale_words``
words and a decider who is a supervisor or headquarters user and not the case's own officer
(:func:`do_decide_review`). :func:`check_release_decision_allowed` refuses a release decision on
a case that meets the criteria until a decided review, younger than ``review_valid_days``, is on
record.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict

from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from caseload.core import audit, bulk, clock
from caseload.core.errors import Conflict, Forbidden, NotFound, UsageError
from caseload.countries import config as cfgmod
from caseload.countries.models import (
    ForeseeabilityReview,
    ReviewDecision,
    ReviewReason,
    ReviewStatus,
    TravelDocumentRequest,
    TravelDocumentStatus,
)
from caseload.countries.rules import label_of, require
from caseload.countries.services import tiers_as_of

_TABLE = ForeseeabilityReview._meta.db_table
_COLUMNS = ("case_id", "office_id", "country_id", "flagged_on", "reasons", "final_order_date", "convictions", "felonies",
            "aggravated_felonies", "last_conviction_on", "longest_custody_days", "pending_criminal_charges",
            "national_security_flag", "gang_flag", "facts", "status", "decision", "rationale", "decided_on", "decided_by")
_CHUNK = 5000


def _candidates(as_of: dt.date, cases=None) -> dict[int, list[str]]:
    """{case id: reason codes} for the open final-order cases (of ``cases``) that meet the criteria."""
    from caseload.docket.models import Case, CaseStatus, Stage

    cfg = cfgmod.config()
    base = (cases if cases is not None else Case.objects.all()).filter(
        status=CaseStatus.OPEN, stage=Stage.FINAL_ORDER, final_order_date__lte=as_of)
    # A valid document held on the as-of date: issued by then and not expired by then.
    held = TravelDocumentRequest.objects.filter(case_id=OuterRef("pk"), status=TravelDocumentStatus.ISSUED,
                                                decided_on__lte=as_of).filter(Q(expires_on__isnull=True) | Q(expires_on__gte=as_of))
    without_document = base.exclude(Exists(held))
    refused = TravelDocumentRequest.objects.filter(case_id=OuterRef("pk"), status=TravelDocumentStatus.REFUSED,
                                                   decided_on__lte=as_of)
    review_tiers = [c for c, t in tiers_as_of(as_of).items() if t.tier in cfg.review_tiers]
    cutoff = as_of - dt.timedelta(days=cfg.no_document_after_days)
    reasons: dict[int, list[str]] = defaultdict(list)
    tests = [
        (ReviewReason.DOCUMENT_REFUSED, base.filter(Exists(refused)) if cfg.review_on_refusal else base.none()),
        (ReviewReason.COUNTRY_TIER, without_document.filter(person__citizenship__in=review_tiers)),
        (ReviewReason.NO_DOCUMENT, without_document.filter(final_order_date__lte=cutoff)),
    ]
    for reason, matching in tests:
        for cid in matching.values_list("id", flat=True).iterator():
            reasons[cid].append(reason.value)
    return reasons


def _covered(as_of: dt.date) -> Q:
    """Reviews that cover a case on ``as_of``: open, or decided within the validity period."""
    valid_from = as_of - dt.timedelta(days=cfgmod.config().review_valid_days)
    return Q(status=ReviewStatus.OPEN) | Q(status=ReviewStatus.DECIDED, decided_on__gt=valid_from)


def flag_reviews(*, as_of: dt.date) -> int:
    """Flag every case that meets the criteria and has no covering review (bulk insert)."""
    reasons = _candidates(as_of)
    covered = set(ForeseeabilityReview.objects.filter(_covered(as_of)).values_list("case_id", flat=True))
    ids = sorted(set(reasons) - covered)
    total = 0
    with transaction.atomic():
        for start in range(0, len(ids), _CHUNK):
            rows = _review_rows(ids[start:start + _CHUNK], reasons, as_of)
            total += bulk.insert_rows(_TABLE, _COLUMNS, rows)
    return total


def _review_rows(case_ids: list[int], reasons: dict[int, list[str]], as_of: dt.date) -> list[tuple]:
    """One review row per case, with the criminal-history facts and travel-document history."""
    from caseload.docket.models import Case, Conviction

    cases = list(Case.objects.filter(id__in=case_ids).values_list(
        "id", "person_id", "office_id", "person__citizenship", "final_order_date", "supervision_type",
        "person__pending_criminal_charges", "person__national_security_flag", "person__gang_flag"))
    convictions: dict[int, list[dict]] = defaultdict(list)
    for person_id, on, category, severity, aggravated, sentence, custody in Conviction.objects.filter(
            person_id__in=[c[1] for c in cases]).order_by("convicted_on", "id").values_list(
            "person_id", "convicted_on", "offense_category", "severity", "aggravated_felony", "sentence_days", "custody_days"):
        convictions[person_id].append({"convicted_on": on.isoformat(), "offense_category": category, "severity": severity,
                                       "aggravated_felony": aggravated, "sentence_days": sentence, "custody_days": custody})
    documents: dict[int, list[dict]] = defaultdict(list)
    for rid, cid, country, requested_on, status, decided_on, reason in TravelDocumentRequest.objects.filter(
            case_id__in=case_ids).order_by("requested_on", "id").values_list(
            "id", "case_id", "country_id", "requested_on", "status", "decided_on", "refusal_reason"):
        documents[cid].append({"request": rid, "country": country, "requested_on": requested_on.isoformat(),
                               "status": status, "decided_on": decided_on.isoformat() if decided_on else None,
                               "refusal_reason": reason})
    tiers = tiers_as_of(as_of)
    rows = []
    for cid, pid, office_id, country, final_order_date, supervision, charges, national_security, gang in cases:
        record = convictions.get(pid, [])
        facts = {"convictions": record, "travel_documents": documents.get(cid, []),
                 "days_since_final_order": (as_of - final_order_date).days, "supervision_type": supervision,
                 "country_tier": tiers[country].tier if country in tiers else None}
        rows.append((
            cid, office_id, country, as_of.isoformat(), json.dumps(reasons[cid]), final_order_date.isoformat(), len(record),
            sum(c["severity"] == "felony" for c in record), sum(bool(c["aggravated_felony"]) for c in record),
            record[-1]["convicted_on"] if record else None, max((c["custody_days"] for c in record), default=0),
            charges, bool(national_security), bool(gang), json.dumps(facts, sort_keys=True),
            ReviewStatus.OPEN.value, "", "", None, ""))
    return rows


def review_reasons(case, *, as_of: dt.date | None = None) -> list[str]:
    """The criteria ``case`` meets on ``as_of`` (empty: no review needed)."""
    from caseload.docket.models import Case

    return _candidates(as_of or clock.today(), Case.objects.filter(pk=case.pk)).get(case.pk, [])


def check_release_decision_allowed(case, *, as_of: dt.date | None = None) -> None:
    """Raise Conflict ``foreseeability_review_required`` when a release decision on ``case``
    would be made without a decided foreseeability review on record. Release steps call this."""
    as_of = as_of or clock.today()
    reasons = review_reasons(case, as_of=as_of)
    if not reasons:
        return
    valid_from = as_of - dt.timedelta(days=cfgmod.config().review_valid_days)
    if case.foreseeability_reviews.filter(status=ReviewStatus.DECIDED, decided_on__gt=valid_from).exists():
        return
    raise Conflict("foreseeability_review_required",
                   f"case {case.pk} needs a decided foreseeability review before a release decision "
                   f"({', '.join(reasons)})", reasons=reasons)


def access_review(review_id: int) -> ForeseeabilityReview:
    try:
        return ForeseeabilityReview.objects.select_related("case", "case__person", "office").get(pk=review_id)
    except ForeseeabilityReview.DoesNotExist:
        raise NotFound("unknown_review", f"no foreseeability review with id {review_id}") from None


DECIDER_ROLES = ("supervisor", "hq_analyst")
CHECKLIST_KEYS = ("criminal_history_reviewed", "consulate_contacted_on", "escalation_level", "risk_assessment")


def escalation_level_reached(case_id: int) -> str:
    """The highest escalation step opened on the case so far ("none" if none)."""
    from caseload.countries.models import TravelDocumentEscalation

    steps = set(TravelDocumentEscalation.objects.filter(case_id=case_id).values_list("step", flat=True))
    reached = [s for s in cfgmod.config().steps if s in steps]
    return reached[-1] if reached else "none"


def check_decider(review: ForeseeabilityReview, actor) -> None:
    """The decider is a signed-in supervisor or headquarters user, and not the case's own officer."""
    if actor is None:
        raise UsageError("decider_required", "a review decision names its decider (a supervisor or headquarters user)")
    from caseload.core.access import role_of

    if role_of(actor) not in DECIDER_ROLES:
        raise Forbidden("decider_not_allowed",
                        f"{actor.get_username()} may not decide a foreseeability review: a supervisor or headquarters user must")
    officer = review.case.officer
    if officer is not None and officer.user_id is not None and officer.user_id == actor.pk:
        raise Forbidden("decider_is_case_officer",
                        f"{actor.get_username()} is the case's own officer: another supervisor or headquarters user decides")


def check_review_checklist(review: ForeseeabilityReview, checklist: dict | None, rationale: str, *,
                           today: dt.date) -> dict:
    """The structured checklist, normalised (UsageError naming every problem), and the rationale's length."""
    cfg = cfgmod.config()
    checklist = dict(checklist or {})
    problems = []
    missing = [k for k in CHECKLIST_KEYS if checklist.get(k) in (None, "")]
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    if "criminal_history_reviewed" not in missing and checklist["criminal_history_reviewed"] is not True:
        problems.append("criminal_history_reviewed must be true: review the criminal history first")
    contacted = checklist.get("consulate_contacted_on")
    if "consulate_contacted_on" not in missing:
        try:
            contacted = dt.date.fromisoformat(str(contacted))
            if contacted > today:
                problems.append(f"consulate_contacted_on {contacted} is in the future")
        except ValueError:
            problems.append(f"consulate_contacted_on must be a date (YYYY-MM-DD), got {contacted!r}")
    reached = escalation_level_reached(review.case_id)
    level = checklist.get("escalation_level")
    if "escalation_level" not in missing and level != reached:
        problems.append(f"escalation_level is {level!r}, but the level reached on the case is {reached!r}")
    risk = checklist.get("risk_assessment")
    if "risk_assessment" not in missing and risk not in cfg.risk_levels:
        problems.append(f"risk_assessment must be one of {', '.join(cfg.risk_levels)}, got {risk!r}")
    words = len(rationale.split())
    if words < cfg.min_rationale_words:
        problems.append(f"the rationale has {words} words, {cfg.min_rationale_words} needed")
    if problems:
        raise UsageError("review_incomplete", "the review decision is incomplete: " + "; ".join(problems),
                         problems=problems)
    return {"criminal_history_reviewed": True, "consulate_contacted_on": contacted.isoformat(),
            "escalation_level": reached, "risk_assessment": risk}


def do_decide_review(*, review: ForeseeabilityReview, decision: str, rationale: str, checklist: dict | None = None,
                     actor=None) -> ForeseeabilityReview:
    """Record the decision with its checklist and rationale; the audit event keeps the facts it was based on.

    ``actor`` is the decider: a supervisor (of the case's office) or headquarters user who is not
    the case's own officer."""
    check_decider(review, actor)
    require(actor, "countries.decide_foreseeability_review", review)
    label = label_of(actor, None)
    if decision not in ReviewDecision.values:
        raise UsageError("invalid_decision", f"decision must be one of {', '.join(ReviewDecision.values)}, got {decision!r}")
    if not rationale.strip():
        raise UsageError("rationale_required", "a review decision needs its rationale")
    today = clock.today()
    checklist = check_review_checklist(review, checklist, rationale, today=today)
    with transaction.atomic():
        changed = ForeseeabilityReview.objects.filter(pk=review.pk, status=ReviewStatus.OPEN).update(
            status=ReviewStatus.DECIDED, decision=decision, rationale=rationale.strip(), decided_on=today, decided_by=label,
            checklist=checklist)
        if not changed:
            raise Conflict("review_decided", f"foreseeability review {review.pk} is already decided")
        audit.record(action="countries.foreseeability_review_decided", actor=actor, actor_label=label,
                     object_type="countries.foreseeabilityreview", object_id=review.pk, office_id=review.office_id,
                     details={"case": review.case_id, "decision": decision, "rationale": rationale.strip(), "checklist": checklist,
                              "reasons": review.reasons, "convictions": review.convictions, "felonies": review.felonies,
                              "aggravated_felonies": review.aggravated_felonies,
                              "national_security_flag": review.national_security_flag})
    review.refresh_from_db()
    return review


_LIST_FIELDS = ("id", "case_id", "case__person__a_number", "office__code", "country_id", "flagged_on", "reasons",
                "final_order_date", "convictions", "felonies", "aggravated_felonies", "national_security_flag",
                "status", "decision", "decided_on")


def list_reviews(*, office: str | None = None, status: str | None = ReviewStatus.OPEN, limit: int = 1000) -> list[dict]:
    """Reviews, most serious criminal history first (national security, aggravated felonies, felonies)."""
    from caseload.docket import anumber

    qs = ForeseeabilityReview.objects.all()
    if office:
        qs = qs.filter(office__code=office.upper())
    if status:
        if status not in ReviewStatus.values:
            raise UsageError("invalid_status", f"status must be one of {', '.join(ReviewStatus.values)}, got {status!r}")
        qs = qs.filter(status=status)
    rows = qs.order_by("-national_security_flag", "-aggravated_felonies", "-felonies", "flagged_on", "id").values_list(
        *_LIST_FIELDS)[:limit]
    out = []
    for values in rows:
        item = dict(zip(_LIST_FIELDS, values, strict=True))
        item["case"] = item.pop("case_id")
        item["a_number"] = anumber.display(item.pop("case__person__a_number"))
        item["office"] = item.pop("office__code")
        item["country"] = item.pop("country_id")
        for key in ("flagged_on", "final_order_date", "decided_on"):
            item[key] = item[key].isoformat() if item[key] else None
        item["decision"] = item["decision"] or None
        out.append(item)
    return out


def review_detail(review: ForeseeabilityReview) -> dict:
    from caseload.docket import anumber

    return {
        "id": review.pk, "case": review.case_id, "a_number": anumber.display(review.case.person.a_number),
        "office": review.office.code, "country": review.country_id, "flagged_on": review.flagged_on.isoformat(),
        "reasons": review.reasons, "final_order_date": review.final_order_date.isoformat(),
        "criminal_history": {
            "convictions": review.convictions, "felonies": review.felonies,
            "aggravated_felonies": review.aggravated_felonies,
            "last_conviction_on": review.last_conviction_on.isoformat() if review.last_conviction_on else None,
            "longest_custody_days": review.longest_custody_days,
            "pending_criminal_charges": review.pending_criminal_charges,
            "national_security_flag": review.national_security_flag, "gang_flag": review.gang_flag,
        },
        "facts": review.facts, "status": review.status, "decision": review.decision or None,
        "rationale": review.rationale, "decided_on": review.decided_on.isoformat() if review.decided_on else None,
        "decided_by": review.decided_by, "checklist": review.checklist,
        "escalation_level_reached": escalation_level_reached(review.case_id),
    }
