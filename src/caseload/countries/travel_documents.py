"""The travel-document lifecycle: requested -> consular interview -> issued (with expiry) /
refused (with reason) / expired / withdrawn (docs/domain.md §4, docs/countries.md).

Every status change goes through :func:`check_transition` (one ``match`` over (old, new)).
Requesting a document and scheduling the consular interview are removal steps: they call the
due-process guards (:func:`caseload.docket.guards.check_removal_step_allowed`), so neither
happens under a stay, a pending appeal or an open citizenship claim. Issuance counts against
the country's annual quota; a refusal opens the first escalation task in the same transaction.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import F

from caseload.core import audit, clock
from caseload.core.errors import Conflict, NotFound, UsageError
from caseload.countries import config as cfgmod
from caseload.countries import escalation
from caseload.countries.models import (
    ISSUED_STATUSES,
    PENDING_STATUSES,
    EscalationReason,
    TravelDocumentRequest,
    TravelDocumentStatus,
)
from caseload.countries.rules import label_of, require
from caseload.countries.services import access_country, tiers_as_of

S = TravelDocumentStatus
# Steps that move a case towards removal: the due-process guards apply.
GUARDED_STEPS = {S.REQUESTED: "travel_document_request", S.INTERVIEW: "consular_interview_scheduling"}


def check_transition(old: str | None, new: str) -> None:
    """The lifecycle's one transition table; raise Conflict for a change it does not allow."""
    match (old, new):
        case (None, S.REQUESTED):
            return
        case (S.REQUESTED, S.INTERVIEW):
            return
        case (S.REQUESTED | S.INTERVIEW, S.ISSUED | S.REFUSED | S.WITHDRAWN):
            return
        case (S.ISSUED, S.EXPIRED | S.WITHDRAWN):
            return
        case _:
            raise Conflict("invalid_transition",
                           f"a travel-document request cannot go from {old or 'nothing'} to {new}", old=old, new=new)


def access_request(request_id: int) -> TravelDocumentRequest:
    try:
        return TravelDocumentRequest.objects.select_related("case", "case__person", "country", "office").get(pk=request_id)
    except TravelDocumentRequest.DoesNotExist:
        raise NotFound("unknown_request", f"no travel-document request with id {request_id}") from None


def access_case(case_id: int):
    from caseload.docket.models import Case

    try:
        return Case.objects.select_related("person", "office").get(pk=case_id)
    except Case.DoesNotExist:
        raise NotFound("unknown_case", f"no case with id {case_id}") from None


def _check_date(on: dt.date, *, not_before: dt.date | None = None, what: str, future_ok: bool = False) -> None:
    if not future_ok and on > clock.today():
        raise UsageError("date_in_future", f"{what} date {on} is after today ({clock.today()})")
    if not_before is not None and on < not_before:
        raise UsageError("date_before_request", f"{what} date {on} is before the request date {not_before}")


def _guard(case, new: str) -> None:
    """In the step's transaction: the case's row locked, its version unchanged, the guards hold."""
    from caseload.docket.guards import lock_for_removal_step

    if new in GUARDED_STEPS:
        lock_for_removal_step(case, step=GUARDED_STEPS[new], as_of=clock.today())


def _move(request: TravelDocumentRequest, new: str, *, actor, label: str, details: dict, **fields) -> TravelDocumentRequest:
    """Apply one transition: table, guards, a conditional UPDATE (a concurrent change is refused), audit."""
    check_transition(request.status, new)
    _guard(request.case, new)
    changed = TravelDocumentRequest.objects.filter(pk=request.pk, status=request.status).update(status=new, **fields)
    if not changed:
        raise Conflict("stale_request", f"travel-document request {request.pk} changed meanwhile; reload and retry")
    audit.record(action=f"travel_document.{new}", actor=actor, actor_label=label, object_type="countries.traveldocumentrequest",
                 object_id=request.pk, office_id=request.office_id,
                 details={"case": request.case_id, "country": request.country_id, "from": request.status, **details})
    request.refresh_from_db()
    return request


def do_request_travel_document(*, case, country: str | None = None, on: dt.date | None = None, actor=None,
                               actor_label: str | None = None) -> TravelDocumentRequest:
    """Open a request for an open final-order case (to its citizenship's country unless ``country``)."""
    from caseload.docket.models import CaseStatus, Stage

    require(actor, "countries.manage_travel_documents", case)
    label = label_of(actor, actor_label)
    on = on or clock.today()
    _check_date(on, what="request")
    if case.status != CaseStatus.OPEN or case.stage != Stage.FINAL_ORDER:
        raise Conflict("no_final_order", f"case {case.pk} is not an open final-order case (stage {case.stage}, {case.status})")
    if case.final_order_date and on < case.final_order_date:
        raise UsageError("date_before_final_order", f"request date {on} is before the final order of {case.final_order_date}")
    target = access_country(country) if country else case.person.citizenship
    check_transition(None, S.REQUESTED)
    with transaction.atomic():
        _guard(case, S.REQUESTED)
        open_request = case.travel_document_requests.select_for_update().filter(
            status__in=[*PENDING_STATUSES, S.ISSUED]).values_list("id", "status").first()
        if open_request:
            raise Conflict("request_open", f"case {case.pk} already has request {open_request[0]} ({open_request[1]})")
        request = TravelDocumentRequest.objects.create(case=case, office_id=case.office_id, country=target, requested_on=on)
        audit.record(action="travel_document.requested", actor=actor, actor_label=label,
                     object_type="countries.traveldocumentrequest", object_id=request.pk, office_id=case.office_id,
                     details={"case": case.pk, "country": target.code, "requested_on": on.isoformat()})
    return access_request(request.pk)


def do_schedule_interview(*, request: TravelDocumentRequest, on: dt.date, actor=None,
                          actor_label: str | None = None) -> TravelDocumentRequest:
    """Record the consular interview's date (it may lie ahead)."""
    require(actor, "countries.manage_travel_documents", request)
    _check_date(on, not_before=request.requested_on, what="interview", future_ok=True)
    with transaction.atomic():
        return _move(request, S.INTERVIEW, actor=actor, label=label_of(actor, actor_label),
                     details={"interview_on": on.isoformat()}, interview_on=on)


def quota_used(country_code: str, day: dt.date) -> tuple[int | None, int]:
    """(annual quota in force on ``day`` or None, documents issued so far in that quota year)."""
    quota = tiers_as_of(day, [country_code])[country_code].quota
    start, end = cfgmod.config().quota_year(day)
    used = TravelDocumentRequest.objects.filter(country_id=country_code, status__in=ISSUED_STATUSES,
                                                decided_on__range=(start, end)).count()
    return quota, used


def do_issue(*, request: TravelDocumentRequest, expires_on: dt.date, on: dt.date | None = None, actor=None,
             actor_label: str | None = None) -> TravelDocumentRequest:
    """Record an issued document; refused when the country's annual quota is used up."""
    require(actor, "countries.manage_travel_documents", request)
    label = label_of(actor, actor_label)
    on = on or clock.today()
    _check_date(on, not_before=request.requested_on, what="issue")
    if expires_on <= on:
        raise UsageError("invalid_expiry", f"the document must expire after it is issued ({on}), got {expires_on}")
    with transaction.atomic():
        quota, used = quota_used(request.country_id, on)
        if quota is not None and used >= quota:
            raise Conflict("quota_exhausted", f"{request.country_id} has issued its {quota} documents of the quota year "
                                              f"containing {on}; the request stays in the queue", quota=quota)
        request = _move(request, S.ISSUED, actor=actor, label=label,
                        details={"decided_on": on.isoformat(), "expires_on": expires_on.isoformat()},
                        decided_on=on, expires_on=expires_on)
        escalation.resolve_for_case(request.case_id, on=on, label=label, note=f"travel document issued (request {request.pk})")
    return request


def do_refuse(*, request: TravelDocumentRequest, reason: str, on: dt.date | None = None, actor=None,
              actor_label: str | None = None) -> TravelDocumentRequest:
    """Record a refusal; the case's escalation opens its next level at once (consulate contact for
    the first refusal, headquarters review for the second, diplomatic escalation after that)."""
    require(actor, "countries.manage_travel_documents", request)
    label = label_of(actor, actor_label)
    on = on or clock.today()
    _check_date(on, not_before=request.requested_on, what="refusal")
    if not reason.strip():
        raise UsageError("reason_required", "a refusal needs the consulate's reason (or 'no reason given')")
    with transaction.atomic():
        request = _move(request, S.REFUSED, actor=actor, label=label,
                        details={"decided_on": on.isoformat(), "reason": reason.strip()},
                        decided_on=on, refusal_reason=reason.strip()[:200])
        escalation.open_step_for(request, reason=EscalationReason.REFUSED, on=clock.today(), label=label)
    return request


def do_withdraw(*, request: TravelDocumentRequest, reason: str, on: dt.date | None = None, actor=None,
                actor_label: str | None = None) -> TravelDocumentRequest:
    """Withdraw a pending request or an unused document (e.g. relief granted); its open escalation tasks are cancelled."""
    require(actor, "countries.manage_travel_documents", request)
    label = label_of(actor, actor_label)
    on = on or clock.today()
    _check_date(on, not_before=request.requested_on, what="withdrawal")
    if not reason.strip():
        raise UsageError("reason_required", "a withdrawal needs a reason")
    with transaction.atomic():
        request = _move(request, S.WITHDRAWN, actor=actor, label=label, details={"closed_on": on.isoformat(), "reason": reason.strip()},
                        closed_on=on, withdrawal_reason=reason.strip()[:200])
        escalation.cancel_for_request(request.pk, on=on, label=label)
    return request


def expire_documents(*, as_of: dt.date) -> int:
    """Set-based: issued documents whose expiry date has passed become expired (issued -> expired)."""
    check_transition(S.ISSUED, S.EXPIRED)
    return TravelDocumentRequest.objects.filter(status=S.ISSUED, expires_on__lt=as_of).update(
        status=S.EXPIRED, closed_on=F("expires_on"))


# --- Quota queue -------------------------------------------------------------------------------

def quota_queue(*, country, as_of: dt.date | None = None) -> dict:
    """Pending requests of a country in queue order (request date, then id), with the quota left.

    ``within_quota`` is true for the requests the remaining quota of the current quota year covers.
    """
    from caseload.docket import anumber

    as_of = as_of or clock.today()
    quota, used = quota_used(country.code, as_of)
    remaining = max(0, quota - used) if quota is not None else None
    start, end = cfgmod.config().quota_year(as_of)
    pending = (TravelDocumentRequest.objects.filter(country=country, status__in=PENDING_STATUSES, requested_on__lte=as_of)
               .order_by("requested_on", "id")
               .values_list("id", "case_id", "case__person__a_number", "office__code", "requested_on", "status"))
    queue = [
        {"position": i, "request": rid, "case": cid, "a_number": anumber.display(a), "office": office,
         "requested_on": requested_on.isoformat(), "status": status,
         "within_quota": remaining is None or i <= remaining}
        for i, (rid, cid, a, office, requested_on, status) in enumerate(pending, start=1)
    ]
    return {"country": country.code, "quota": quota, "quota_year": [start.isoformat(), end.isoformat()],
            "issued": used, "quota_remaining": remaining, "queue": queue}


def queue_position(request: TravelDocumentRequest) -> tuple[int | None, int]:
    """(1-based position among the country's pending requests, queue length); None when not pending."""
    pending = TravelDocumentRequest.objects.filter(country_id=request.country_id, status__in=PENDING_STATUSES)
    length = pending.count()
    if request.status not in PENDING_STATUSES:
        return None, length
    ahead = pending.filter(requested_on__lt=request.requested_on).count() + pending.filter(
        requested_on=request.requested_on, id__lt=request.pk).count()
    return ahead + 1, length


def request_detail(request: TravelDocumentRequest) -> dict:
    """A request with its queue position, the quota left and its escalation tasks."""
    from caseload.docket import anumber

    position, length = queue_position(request)
    quota, used = quota_used(request.country_id, clock.today())
    return {
        "id": request.pk, "case": request.case_id, "a_number": anumber.display(request.case.person.a_number),
        "office": request.office.code, "country": request.country_id, "status": request.status,
        "requested_on": _iso(request.requested_on), "interview_on": _iso(request.interview_on),
        "decided_on": _iso(request.decided_on), "expires_on": _iso(request.expires_on),
        "refusal_reason": request.refusal_reason, "closed_on": _iso(request.closed_on),
        "withdrawal_reason": request.withdrawal_reason,
        "queue_position": position, "queue_length": length,
        "quota_remaining": max(0, quota - used) if quota is not None else None,
        "escalations": escalation.tasks_of_request(request.pk),
    }


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None
