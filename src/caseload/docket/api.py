"""API routes of the docket: cases, people, intake, check-ins, records checks, contacts,
transitions, worklists, the overdue summary and the docket summary (docs/api.md).

Each route reads through the visibility querysets (an object outside the caller's scope is a
404, as on the pages), records the same audited read as a page showing the same people, and
calls the service that the command line calls. A write carries the case's ``expected_version``:
the service's versioned write refuses a stale one (409 ``stale_case``) and rolls back.
"""

from typing import Annotated

from ninja import Path, Query, Router, Status

from caseload.core import access
from caseload.core.api import (A_NUMBER_PATTERN, ALL_ROLES, OFFICE_PATTERN, WRITERS, Cursor, Day, Id, OfficeCode,
                               document, path_id, record_listed, require_role, text)
from caseload.core.audit import record_read
from caseload.core.schemas import responses
from caseload.docket import anumber
from caseload.docket.models import Case, CheckIn
from caseload.docket.schemas import (CaseChangeOut, CaseOut, CasePage, CheckInIn, CheckInOut, ContactIn, ContactOut,
                                     IntakeIn, OpenedOut, OverdueOut, PersonOut, RecordsCheckIn, RecordsCheckOut,
                                     StageName, SummaryOut, TransitionIn, UnitName, WorklistOut)

router = Router(tags=["docket"])
CaseId = path_id("case id")
MAX_PAGE = 1000
SUPERVISORS_AND_NATIONAL = ("supervisor", "hq_analyst", "auditor", "administrator")


def _officer(request, officer_id: int | None):
    """The officer named as having done the work, if the caller may see them (else 404)."""
    return access.access_officer(request.user, officer_id) if officer_id is not None else None


def _versioned(request, case_id: int, expected_version: int) -> Case:
    """The case, if visible; its version set to the one the client read, so that the service's
    versioned write (``UPDATE … WHERE version = ?``) refuses the change if anyone came first."""
    case = access.access_case(request.user, case_id)
    case.version = expected_version
    return case


# --- reading ----------------------------------------------------------------------------------

@router.get("/cases", response=responses(CasePage), summary="Cases in id order, one keyset page at a time")
@require_role(*ALL_ROLES)
def list_cases(request,
               after: Annotated[Cursor | None, Query()] = None,
               limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
               office: Annotated[OfficeCode | None, Query(description="field office code")] = None,
               officer: Annotated[Id | None, Query(description="officer id")] = None,
               stage: StageName | None = None,
               priority: Annotated[text(24) | None, Query(description="priority level (e.g. priority_1)")] = None,
               unit: UnitName | None = None,
               status: Annotated[str, Query(pattern="^(open|closed)$")] = "open"):
    """The caller's visible cases (an officer: their own; a supervisor: their office's), filtered;
    an audited read (``case.list``) of the page shown."""
    qs = access.visible_cases(request.user).filter(status=status)
    if office:
        qs = qs.filter(office=access.access_office(request.user, office))
    if officer is not None:
        qs = qs.filter(officer=access.access_officer(request.user, officer))
    filters = {k: v for k, v in (("stage", stage), ("priority", priority), ("unit", unit)) if v is not None}
    qs = qs.filter(**filters)
    if after is not None:
        qs = qs.filter(id__gt=after)
    rows = list(qs.order_by("id").values_list("id", "person__a_number", "office__code", "officer_id", "unit",
                                              "supervision_type", "stage", "status", "priority", "version")[:limit + 1])
    more, rows = len(rows) > limit, rows[:limit]
    cases = [{"case_id": cid, "a_number": anumber.display(a), "office": code, "officer": officer_id, "unit": u,
              "supervision_type": sup, "stage": st, "status": stat, "priority": prio or None, "version": version}
             for cid, a, code, officer_id, u, sup, st, stat, prio, version in rows]
    record_listed(request, cases)
    return {"cases": cases, "next_after": cases[-1]["case_id"] if more else None}


@router.get("/cases/{case_id}", response=responses(CaseOut), summary="One case")
@require_role(*ALL_ROLES)
def get_case(request, case_id: CaseId):
    """The case with its state, version, the transitions it allows and what blocks a removal step;
    an audited read (``case.read``)."""
    from caseload.docket.guards import removal_step_blockers
    from caseload.docket.lifecycle import allowed_targets

    case = access.access_case(request.user, case_id)
    person, officer = case.person, case.officer
    record_read(action="case.read", via=request.path, actor=request.user, case_ids=[case.pk],
                a_numbers=[person.a_number], office_id=case.office_id)
    return {
        "case_id": case.pk, "a_number": person.a_number_display, "name": f"{person.last_name}, {person.first_name}",
        "office": case.office.code, "officer": case.officer_id, "officer_name": officer.name if officer else None,
        "unit": case.unit, "supervision_type": case.supervision_type, "stage": case.stage, "status": case.status,
        "priority": case.priority or None, "priority_rule_set": case.priority_rule_set or None,
        "opened_on": case.opened_on, "closed_on": case.closed_on, "close_reason": case.close_reason,
        "final_order_date": case.final_order_date, "appeal_pending": case.appeal_pending,
        "stay_of_removal_until": case.stay_of_removal_until, "removal_scheduled_for": case.removal_scheduled_for,
        "reporting_cadence_days": case.reporting_cadence_days, "next_report_due": case.next_report_due,
        "last_contact_on": case.last_contact_on, "version": case.version,
        "allowed_transitions": allowed_targets(case), "removal_step_blockers": removal_step_blockers(case),
    }


@router.get("/people/{a_number}", response=responses(PersonOut), summary="A person's record")
@require_role(*ALL_ROLES)
def get_person(request, a_number: Annotated[str, Path(pattern=A_NUMBER_PATTERN,
                                                      description="A123-456-789 or nine digits")]):
    """The person, their cases, convictions, due tasks, check-ins and travel documents (the
    ``case show`` document); an audited read (``case.read``)."""
    from caseload.docket.intake import check_a_number, person_record

    access.access_person(request.user, check_a_number(a_number))
    return person_record(a_number, actor=request.user, via=request.path)


@router.get("/docket/summary", response=responses(SummaryOut), summary="Headline figures of the docket")
@require_role(*ALL_ROLES)
def docket_summary(request):
    """The ``docket summary`` document within the caller's scope."""
    from caseload.docket.services import summary

    return summary(actor=request.user)


@router.get("/officers/{officer_id}/worklist", response=responses(WorklistOut), summary="An officer's due tasks")
@require_role(*ALL_ROLES)
def officer_worklist(request, officer_id: path_id("officer id"),
                     as_of: Annotated[Day | None, Query(description="the date tasks are judged against (default today)")] = None):
    """The ``worklist`` document: national-security cases first, then overdue, then priority, then
    due date; an audited read (``case.list``) of the cases listed."""
    from caseload.docket.worklist import officer_worklist as worklist

    officer = access.access_officer(request.user, officer_id)
    doc = worklist(officer=officer.pk, as_of=as_of)
    record_listed(request, doc["tasks"], office_id=officer.office_id)
    return document(doc)


@router.get("/offices/{code}/overdue", response=responses(OverdueOut), summary="Overdue tasks of an office")
@require_role(*SUPERVISORS_AND_NATIONAL)
def office_overdue(request, code: Annotated[str, Path(pattern=OFFICE_PATTERN, description="field office code")],
                   as_of: Annotated[Day | None, Query()] = None):
    """The ``overdue --office`` document; an audited read of the unassigned and stale
    national-security cases it lists."""
    from caseload.docket.worklist import overdue_summary

    office = access.access_office(request.user, code)
    doc = overdue_summary(office=office.code, as_of=as_of)
    record_listed(request, doc["unassigned_cases"] + doc["stale_national_security_cases"], office_id=office.pk)
    return document(doc)


# --- writing ----------------------------------------------------------------------------------

@router.post("/cases", response=responses(OpenedOut, 201), summary="Open a case (intake)")
@require_role(*WRITERS)
def open_case(request, body: IntakeIn):
    """The intake service (``case open``): validated, prioritised, first tasks due, assigned by the
    staffing rule. The office must be within the caller's scope."""
    from caseload.docket.intake import do_open_case

    office = access.access_office(request.user, body.office)
    data = body.model_dump()
    data["office"] = office.code
    data["convictions"] = [_conviction(c) for c in body.convictions]
    opened = do_open_case(**data, actor=request.user)
    return Status(201, opened.as_dict())


def _conviction(c):
    from caseload.docket.intake import ConvictionInput

    return ConvictionInput(c.category, c.convicted_on, c.felony, c.custody_days)


@router.post("/cases/{case_id}/check-ins", response=responses(CheckInOut, 201), summary="Record a check-in")
@require_role(*WRITERS)
def record_check_in(request, case_id: CaseId, body: CheckInIn):
    """``checkin record``: an appearance needs the records-check result."""
    from caseload.docket.checkins import do_record_check_in

    case = _versioned(request, case_id, body.expected_version)
    row = do_record_check_in(case=case, outcome=body.outcome, method=body.method, scheduled_for=body.scheduled_for,
                             occurred_at=body.occurred_at, records_check=body.records_check,
                             records_check_detail=body.records_check_detail, reschedule_to=body.reschedule_to,
                             note=body.note, officer=_officer(request, body.officer), minutes=body.minutes,
                             records_check_minutes=body.records_check_minutes, actor=request.user)
    return Status(201, {"check_in": row.pk, "case_id": case.pk, "outcome": row.outcome, "records_check": row.records_check,
                        "next_report_due": case.next_report_due, "missed_in_a_row": case.missed_in_a_row,
                        "failed_to_report_on": case.person.failed_to_report_on, "version": case.version})


@router.post("/check-ins/{check_in_id}/records-check", response=responses(RecordsCheckOut, 201),
             summary="Record a records check owed by a check-in")
@require_role(*WRITERS)
def record_records_check(request, check_in_id: path_id("check-in id"), body: RecordsCheckIn):
    """``checkin records-check --check-in``: the result of a records check run after the check-in."""
    from caseload.core.errors import NotFound
    from caseload.docket.checkins import do_record_records_check

    row = CheckIn.objects.filter(pk=check_in_id, case__in=access.visible_cases(request.user)).first()
    if row is None:
        raise NotFound("unknown_check_in", f"no check-in {check_in_id}")
    case = _versioned(request, row.case_id, body.expected_version)
    ids = do_record_records_check(case=case, result=body.result, detail=body.detail, check_in=row,
                                  officer=_officer(request, body.officer), minutes=body.minutes, actor=request.user)
    return Status(201, {"case_id": case.pk, "check_ins": ids, "records_check": body.result, "version": case.version})


@router.post("/cases/{case_id}/contacts", response=responses(ContactOut, 201), summary="Record a contact")
@require_role(*WRITERS)
def record_contact(request, case_id: CaseId, body: ContactIn):
    """``case contact``: officer contact with the person outside a check-in (a home or employment visit)."""
    from caseload.docket.lifecycle import do_record_contact

    case = do_record_contact(case=_versioned(request, case_id, body.expected_version), activity=body.activity,
                             on=body.on, note=body.note, officer=_officer(request, body.officer), minutes=body.minutes,
                             actor=request.user)
    return Status(201, {"case_id": case.pk, "version": case.version, "stage": case.stage, "status": case.status,
                        "last_contact_on": case.last_contact_on})


@router.post("/cases/{case_id}/transitions", response=responses(CaseChangeOut, 201), summary="Move a case to a new stage or status")
@require_role(*WRITERS)
def transition(request, case_id: CaseId, body: TransitionIn):
    """``case transition``: through the transition table; a removal is refused (409 with the
    guard's code) under a stay, a pending appeal or an open citizenship claim."""
    from caseload.docket.lifecycle import do_transition

    case = do_transition(case=_versioned(request, case_id, body.expected_version), to=body.to, reason=body.reason,
                         on=body.on, officer=_officer(request, body.officer), minutes=body.minutes, actor=request.user)
    return Status(201, {"case_id": case.pk, "version": case.version, "stage": case.stage, "status": case.status})

