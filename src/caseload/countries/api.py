"""API routes of the countries app: travel-document requests (list, request, lifecycle events)
and the country cooperation report (docs/api.md).

Requesting a document and scheduling the consular interview are removal steps: the services'
due-process guards refuse them (409 with the guard's code) under a stay, a pending appeal or an
open citizenship claim, on the case's row locked in the step's transaction.
"""

from typing import Annotated, Literal

from ninja import Query, Router, Status

from caseload.core import access
from caseload.core.api import ALL_ROLES, WRITERS, Cursor, Day, path_id, record_listed, require_role, text
from caseload.core.errors import NotFound, UsageError
from caseload.core.schemas import responses
from caseload.countries.models import TravelDocumentRequest, TravelDocumentStatus
from caseload.countries.schemas import (CountryRow, TravelDocumentEventIn, TravelDocumentOut, TravelDocumentPage,
                                        TravelDocumentRequestIn)
from caseload.docket import anumber

router = Router(tags=["countries"])
MAX_PAGE = 1000


def _visible_requests(actor):
    requests = TravelDocumentRequest.objects.all()
    return requests if access.reads_national(actor) else requests.filter(case__in=access.visible_cases(actor))


@router.get("/travel-documents", response=responses(TravelDocumentPage), summary="Travel-document requests")
@require_role(*ALL_ROLES)
def list_travel_documents(request,
                          country: Annotated[text(80) | None, Query(description="ISO code or country name")] = None,
                          status: Literal[tuple(TravelDocumentStatus.values)] | None = None,
                          after: Annotated[Cursor | None, Query()] = None,
                          limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100):
    """Requests of the caller's visible cases in id order, one keyset page at a time; an audited
    read (``case.list``)."""
    from caseload.countries.services import access_country

    qs = _visible_requests(request.user)
    if country:
        qs = qs.filter(country=access_country(country))
    if status:
        qs = qs.filter(status=status)
    if after is not None:
        qs = qs.filter(id__gt=after)
    rows = list(qs.order_by("id").values_list("id", "case_id", "case__person__a_number", "office__code", "country_id",
                                              "status", "requested_on", "interview_on", "decided_on",
                                              "expires_on")[:limit + 1])
    more, rows = len(rows) > limit, rows[:limit]
    out = [{"id": rid, "case": cid, "a_number": anumber.display(a), "office": office, "country": code, "status": st,
            "requested_on": req, "interview_on": interview, "decided_on": decided, "expires_on": expires}
           for rid, cid, a, office, code, st, req, interview, decided, expires in rows]
    record_listed(request, out, case_key="case")
    return {"requests": out, "next_after": out[-1]["id"] if more else None}


@router.post("/cases/{case_id}/travel-documents", response=responses(TravelDocumentOut, 201),
             summary="Request a travel document for a case")
@require_role(*WRITERS)
def request_travel_document(request, case_id: path_id("case id"), body: TravelDocumentRequestIn):
    """``countries td request``: an open final-order case; refused under a stay, a pending appeal
    or an open citizenship claim, and when the case changed since ``expected_version``."""
    from caseload.countries import travel_documents as td

    case = access.access_case(request.user, case_id)
    case.version = body.expected_version  # the guard's row lock refuses a stale version
    created = td.do_request_travel_document(case=case, country=body.country, on=body.on, actor=request.user)
    return Status(201, td.request_detail(created))


@router.post("/travel-documents/{request_id}/events", response=responses(TravelDocumentOut, 201),
             summary="Record a travel-document event")
@require_role(*WRITERS)
def travel_document_event(request, request_id: path_id("travel-document request id"), body: TravelDocumentEventIn):
    """``countries td interview | issue | refuse | withdraw``: one step of the request's lifecycle.
    Scheduling the interview is a removal step (the guards apply); issuance counts against the
    country's quota."""
    from caseload.countries import travel_documents as td

    if not _visible_requests(request.user).filter(pk=request_id).exists():
        raise NotFound("unknown_request", f"no travel-document request with id {request_id}")
    found = td.access_request(request_id)
    match body.event:
        case "interview":
            if body.on is None:
                raise UsageError("date_required", "an interview event needs `on`, the interview date")
            done = td.do_schedule_interview(request=found, on=body.on, actor=request.user)
        case "issued":
            if body.expires_on is None:
                raise UsageError("expiry_required", "an issued event needs `expires_on`, the document's expiry date")
            done = td.do_issue(request=found, expires_on=body.expires_on, on=body.on, actor=request.user)
        case "refused":
            done = td.do_refuse(request=found, reason=body.reason, on=body.on, actor=request.user)
        case _:
            done = td.do_withdraw(request=found, reason=body.reason, on=body.on, actor=request.user)
    return Status(201, td.request_detail(done))


@router.get("/countries/report", response=responses(list[CountryRow]), summary="Country cooperation report")
@require_role(*ALL_ROLES)
def countries_report(request, as_of: Annotated[Day | None, Query(description="default today")] = None):
    """The ``countries report`` document: per country, official and suggested tier, open final
    orders, pending requests, days to issue, refusal rate, quota left (counts only, no people)."""
    from caseload.countries.services import report

    return report(as_of=as_of)
