"""Docket services: headline figures and case listings, computed from the database."""

from __future__ import annotations

from django.db.models import Count

from caseload.core.errors import NotFound, UsageError
from caseload.docket import anumber
from caseload.docket.models import Case, CaseStatus, Conviction, Person, Stage
from caseload.offices.models import FieldOffice, Officer, OfficerStatus, Unit
from caseload.offices.services import access_office

DEFAULT_LIST_LIMIT = 100
MAX_LIST_LIMIT = 10_000


def docket_officers():
    """Officers who hold the non-detained docket: non-detained unit, not separated."""
    return Officer.objects.filter(unit=Unit.NON_DETAINED).exclude(status=OfficerStatus.SEPARATED)


def summary(*, actor=None) -> dict:
    """Headline figures of the open non-detained docket, national and by office, within what
    ``actor`` may see (``None``, a server process, and the national roles see everything).

    ``cases_per_officer`` divides an office's open non-detained cases by its non-detained
    officers (on leave included, separated excluded), as OIG-17-51 counts caseloads.
    """
    from caseload.core.access import reads_national, visible_cases, visible_offices, visible_officers, visible_people

    national = reads_national(actor)
    cases = Case.objects.all() if national else visible_cases(actor)
    open_cases = cases.filter(status=CaseStatus.OPEN, unit=Unit.NON_DETAINED)
    officers = docket_officers() if national else docket_officers().filter(pk__in=visible_officers(actor).values("pk"))
    cases_by_office = dict(open_cases.values_list("office_id").annotate(n=Count("id")).values_list("office_id", "n"))
    officers_by_office = dict(officers.values_list("office_id").annotate(n=Count("id")).values_list("office_id", "n"))
    people = Person.objects.all() if national else visible_people(actor)
    convicted = Conviction.objects.all() if national else Conviction.objects.filter(person__in=people.values("pk"))
    by_office = []
    offices = FieldOffice.objects.all() if national else visible_offices(actor)
    for office_id, code in offices.filter(active=True).order_by("code").values_list("id", "code"):
        cases, officers = cases_by_office.get(office_id, 0), officers_by_office.get(office_id, 0)
        by_office.append({
            "office": code,
            "cases": cases,
            "officers": officers,
            "cases_per_officer": round(cases / officers, 1) if officers else None,
        })
    return {
        "cases": sum(cases_by_office.values()),
        "people": people.count(),
        "officers": sum(officers_by_office.values()),
        "convicted": convicted.values("person_id").distinct().count(),
        "final_orders": open_cases.filter(stage=Stage.FINAL_ORDER).count(),
        "by_office": by_office,
    }


def list_cases(*, office: str | None = None, officer: int | None = None, limit: int = DEFAULT_LIST_LIMIT,
               after: int | None = None) -> list[dict]:
    """Open cases in id order, one keyset page: the ``limit`` cases after case id ``after``."""
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise UsageError("invalid_limit", f"limit must be between 1 and {MAX_LIST_LIMIT}, got {limit}")
    qs = Case.objects.filter(status=CaseStatus.OPEN)
    if office:
        qs = qs.filter(office=access_office(office))
    if officer is not None:
        if not Officer.objects.filter(pk=officer).exists():
            raise NotFound("unknown_officer", f"no officer with id {officer}")
        qs = qs.filter(officer_id=officer)
    if after is not None:
        qs = qs.filter(id__gt=after)
    rows = qs.order_by("id").values_list("id", "person__a_number", "office__code", "officer_id", "supervision_type", "stage")[:limit]
    return [
        {"a_number": anumber.display(a), "case_id": cid, "office": code, "officer": officer_id,
         "supervision_type": sup, "stage": stage}
        for cid, a, code, officer_id, sup, stage in rows
    ]

