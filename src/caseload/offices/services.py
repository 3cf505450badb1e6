"""Services for field offices and officers: officers join, go on leave, return, transfer and depart.

A departing or transferring officer's open cases are all reassigned in the same transaction as
the change of the officer's record: automatically (the staffing rule: the eligible officer of
the office and unit with the lowest capacity %, each case with its explanation) or to a named
officer. A case for which no officer is eligible stays unassigned and is reported, so no case is
ever left owned by an officer who is gone. An officer on leave keeps their cases (their
supervisor sees them in ``officers list``) and receives none from automatic assignment.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q

from caseload.core import audit, clock
from caseload.core.errors import CaseloadError, Conflict, NotFound, UsageError
from caseload.offices.models import FieldOffice, Officer, OfficerStatus, Unit

_OFFICES_FILE = Path(__file__).with_name("data") / "offices.toml"


def load_offices() -> int:
    """Create or update the 24 field offices from ``data/offices.toml``."""
    with _OFFICES_FILE.open("rb") as fh:
        offices = tomllib.load(fh)["office"]
    for spec in offices:
        FieldOffice.objects.update_or_create(code=spec["code"], defaults={"name": spec["name"], "active": True})
    return len(offices)


def access_office(code: str) -> FieldOffice:
    try:
        return FieldOffice.objects.get(code=code.upper())
    except FieldOffice.DoesNotExist:
        raise NotFound("unknown_office", f"no field office with code {code!r}") from None


def check_office(code: str) -> FieldOffice:
    """The office named on input; an unknown code is bad input (exit 2)."""
    try:
        return access_office(code)
    except NotFound as exc:
        raise UsageError(exc.code, exc.message) from None


def check_unit(unit: str) -> str:
    if unit not in Unit.values:
        raise UsageError("unknown_unit", f"unit must be one of {', '.join(Unit.values)}, got {unit!r}")
    return unit


def access_officer(officer_id: int, *, for_update: bool = False) -> Officer:
    qs = Officer.objects.select_related("office")
    if for_update:
        qs = qs.select_for_update()
    officer = qs.filter(pk=officer_id).first()
    if officer is None:
        raise UsageError("unknown_officer", f"no officer with id {officer_id}")
    return officer


def status_label(officer: Officer) -> str:
    """active, on leave (until D), departed D, on detail: what ``officers list`` shows."""
    match officer.status:
        case OfficerStatus.LEAVE:
            return f"on leave until {officer.leave_until}" if officer.leave_until else "on leave"
        case OfficerStatus.SEPARATED:
            return f"departed {officer.departed_on}" if officer.departed_on else "departed"
        case OfficerStatus.DETAIL:
            return "on detail"
        case _:
            return "active"


def list_officers(*, office: str | None = None) -> list[dict]:
    """Officers with their status and open-case count, ordered by office then name."""
    qs = Officer.objects.select_related("office")
    if office:
        qs = qs.filter(office=check_office(office))
    qs = qs.annotate(n_cases=Count("cases", filter=Q(cases__status="open"))).order_by("office__code", "last_name", "first_name", "id")
    return [
        {"id": o.id, "name": o.name, "office": o.office.code, "unit": o.unit, "status": o.status,
         "status_label": status_label(o), "leave_from": o.leave_from, "leave_until": o.leave_until,
         "departed_on": o.departed_on, "external_id": o.external_id, "cases": o.n_cases}
        for o in qs
    ]


def officers_on_leave(*, office_id: int | None = None) -> list[dict]:
    """Officers on leave with their open cases, which their supervisor covers meanwhile (the
    cases get no other officer and new cases do not go to them); listed by ``caseload overdue``."""
    qs = Officer.objects.filter(status=OfficerStatus.LEAVE).select_related("office")
    if office_id is not None:
        qs = qs.filter(office_id=office_id)
    qs = qs.annotate(n_cases=Count("cases", filter=Q(cases__status="open"))).order_by("office__code", "id")
    return [{"officer": o.pk, "name": o.name, "office": o.office.code, "leave_from": _iso(o.leave_from),
             "leave_until": _iso(o.leave_until), "open_cases": o.n_cases} for o in qs]


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _officer_dict(o: Officer) -> dict:
    return {"id": o.id, "name": o.name, "office": o.office.code, "unit": o.unit, "status": o.status,
            "status_label": status_label(o), "weekly_hours": float(o.weekly_hours), "external_id": o.external_id,
            "leave_from": o.leave_from, "leave_until": o.leave_until, "departed_on": o.departed_on}


def _check_not_future(on: dt.date, flag: str) -> dt.date:
    today = clock.today()
    if on > today:
        raise UsageError("date_in_future", f"{flag} {on} is after today ({today})")
    return on


def _split_name(name: str) -> tuple[str, str]:
    parts = (name or "").split()
    if not parts:
        raise UsageError("name_required", "the officer's name is required")
    if len(parts) == 1:
        return "", parts[0]
    return " ".join(parts[:-1]), parts[-1]


def do_add_officer(*, name: str, office: str, unit: str = Unit.NON_DETAINED, weekly_hours: float | str = 40,
                   external_id: str | None = None, actor=None, actor_label: str | None = None) -> dict:
    """Add an officer to an office and unit; active from today."""
    first, last = _split_name(name)
    fo = check_office(office)
    unit = check_unit(unit)
    try:
        hours = Decimal(str(weekly_hours))
    except InvalidOperation:
        raise UsageError("invalid_weekly_hours", f"weekly hours must be a number, got {weekly_hours!r}") from None
    if not Decimal(0) < hours <= Decimal(80):
        raise UsageError("invalid_weekly_hours", f"weekly hours must be above 0 and at most 80, got {weekly_hours}")
    external_id = (external_id or "").strip() or None
    if external_id and Officer.objects.filter(external_id=external_id).exists():
        raise Conflict("external_id_exists", f"an officer with external id {external_id!r} already exists")
    try:
        with transaction.atomic():
            officer = Officer.objects.create(office=fo, unit=unit, first_name=first, last_name=last, weekly_hours=hours,
                                             external_id=external_id, entered_on_duty=clock.today())
            audit.record(action="officer.added", actor=actor, actor_label=actor_label, object_type="officer",
                         object_id=officer.pk, office_id=fo.id,
                         details={"name": officer.name, "unit": unit, "weekly_hours": str(hours), "external_id": external_id})
    except IntegrityError:
        raise Conflict("external_id_exists", f"an officer with external id {external_id!r} already exists") from None
    return _officer_dict(officer)


def _check_present(officer: Officer) -> None:
    if officer.status == OfficerStatus.SEPARATED:
        raise Conflict("officer_departed", f"officer {officer.pk} ({officer.name}) departed on {officer.departed_on}")


def do_start_leave(*, officer_id: int, from_: dt.date, until: dt.date | None = None, actor=None,
                   actor_label: str | None = None, reason: str = "") -> dict:
    """Put an officer on leave from ``from_`` (today or earlier) until ``until`` (optional, expected).

    The officer keeps their cases and is excluded from automatic assignment until they return."""
    _check_not_future(from_, "--from")
    if until is not None and until < from_:
        raise UsageError("invalid_period", f"--until {until} is before --from {from_}")
    with transaction.atomic():
        officer = access_officer(officer_id, for_update=True)
        _check_present(officer)
        officer.status, officer.leave_from, officer.leave_until = OfficerStatus.LEAVE, from_, until
        officer.save(update_fields=["status", "leave_from", "leave_until"])
        cases = officer.cases.filter(status="open").count()
        audit.record(action="officer.leave_started", actor=actor, actor_label=actor_label, object_type="officer",
                     object_id=officer.pk, office_id=officer.office_id,
                     details={"from": from_, "until": until, "open_cases": cases, **({"reason": reason} if reason else {})})
    return {**_officer_dict(officer), "cases": cases}


def do_return_from_leave(*, officer_id: int, actor=None, actor_label: str | None = None, reason: str = "") -> dict:
    with transaction.atomic():
        officer = access_officer(officer_id, for_update=True)
        if officer.status != OfficerStatus.LEAVE:
            raise Conflict("officer_not_on_leave", f"officer {officer.pk} ({officer.name}) is not on leave ({status_label(officer)})")
        leave = {"from": officer.leave_from, "until": officer.leave_until}
        officer.status, officer.leave_from, officer.leave_until = OfficerStatus.ACTIVE, None, None
        officer.save(update_fields=["status", "leave_from", "leave_until"])
        audit.record(action="officer.returned", actor=actor, actor_label=actor_label, object_type="officer",
                     object_id=officer.pk, office_id=officer.office_id, details={"leave": leave, "returned_on": clock.today(),
                                                                                  **({"reason": reason} if reason else {})})
    return _officer_dict(officer)


@dataclass
class Reassignment:
    """What happened to the open cases of an officer who left an office."""

    cases: int = 0
    assigned: list[dict] = field(default_factory=list)     # [{case_id, to_officer, explanation}]
    unassigned: list[dict] = field(default_factory=list)   # [{case_id, reason}]

    def as_dict(self) -> dict:
        return {"cases": self.cases, "reassigned": len(self.assigned), "left_unassigned": len(self.unassigned),
                "assignments": self.assigned, "unassigned": self.unassigned}


def _time_log_exists() -> bool:
    from caseload.workload.models import TimeLogEntry

    return TimeLogEntry.objects.exists()


def _release_cases(officer: Officer, *, why: str, actor, actor_label: str | None) -> dict[str, list[int]]:
    """Take every open case away from ``officer`` (call inside the transaction); case ids by unit."""
    from caseload.docket.models import Case

    rows = list(Case.objects.filter(officer=officer, status="open").order_by("id").values_list("id", "unit"))
    if not rows:
        return {}
    ids = [case_id for case_id, _ in rows]
    Case.objects.filter(pk__in=ids, officer=officer, status="open").update(officer=None, version=F("version") + 1)
    Officer.objects.filter(pk=officer.pk).update(open_cases=0)
    audit.record_many([{"action": "case.unassigned", "object_type": "case", "object_id": case_id,
                        "office_id": officer.office_id, "details": {"from_officer": officer.pk, "reason": why}}
                       for case_id in ids], actor=actor, actor_label=actor_label)
    by_unit: dict[str, list[int]] = {}
    for case_id, unit in rows:
        by_unit.setdefault(unit, []).append(case_id)
    return by_unit


UNWEIGHTED_NOTE = (" No case weights are measured yet (no time log): every case counts the same, so capacity "
                   "compares open cases against available hours.")


def _equal_weights():
    """A weight table giving every case type the same weight, for a docket without a time log."""
    from caseload.staffing.models import CaseWeightSet, WeightKind
    from caseload.staffing.services import WeightTable

    unsaved = CaseWeightSet(kind=WeightKind.MEASURED, name="equal weights (no time log)", group_by="supervision_type",
                            provenance="no measured weights: every case type weighs one minute a month")
    return WeightTable(("supervision_type",), {}, 1.0, unsaved)


def reassign_automatically(office: FieldOffice, by_unit: dict[str, list[int]], *, actor_label: str) -> Reassignment:
    """Give the listed unassigned cases of ``office`` to eligible officers by the staffing rule.

    Without measured case weights (a docket with no time log yet) every case counts the same.
    When the rule cannot run at all the cases stay unassigned with the reason: they appear in
    the unassigned lists at once."""
    from caseload.staffing.services import assign_unassigned, latest_weight_set

    result = Reassignment(cases=sum(len(v) for v in by_unit.values()))
    has_weights = latest_weight_set("measured") is not None or _time_log_exists()
    for unit, ids in sorted(by_unit.items()):
        try:
            doc = assign_unassigned(office.code, apply=True, actor_label=actor_label, unit=unit, case_ids=ids,
                                    table=None if has_weights else _equal_weights())
        except CaseloadError as exc:
            result.unassigned += [{"case_id": i, "reason": f"automatic assignment could not run: {exc.message}"} for i in ids]
            continue
        note = "" if has_weights else UNWEIGHTED_NOTE
        result.assigned += [{"case_id": m["case_id"], "to_officer": m["to_officer"], "explanation": m["explanation"] + note}
                            for m in doc["assignments"]]
        result.unassigned += [{"case_id": u["case_id"], "reason": u["reason"]} for u in doc["unplaced"]]
    return result


def _reassign_to(officer: Officer, target: Officer, ids: list[int], *, why: str, actor_label: str) -> Reassignment:
    from caseload.staffing.models import AssignmentMethod
    from caseload.staffing.services import do_apply_moves

    explanation = f"Reassigned to {target.name} (named by the supervisor) because {officer.name} {why}."
    moves = [{"case_id": i, "from_officer": None, "to_officer": target.pk, "explanation": explanation} for i in ids]
    if moves:
        do_apply_moves(office=officer.office, moves=moves, actor_label=actor_label, method=AssignmentMethod.MANUAL)
    return Reassignment(cases=len(ids), assigned=[{k: m[k] for k in ("case_id", "to_officer", "explanation")} for m in moves])


def _check_target(officer: Officer, reassign: str) -> Officer | None:
    """None for ``auto``; otherwise the named officer, who must be active in the same office and unit."""
    if reassign == "auto":
        return None
    try:
        target_id = int(reassign)
    except ValueError:
        raise UsageError("invalid_reassign", f"--reassign must be auto or an officer id, got {reassign!r}") from None
    target = access_officer(target_id)
    if target.pk == officer.pk:
        raise UsageError("invalid_reassign", "the cases cannot be reassigned to the departing officer")
    if target.status != OfficerStatus.ACTIVE or target.office_id != officer.office_id or target.unit != officer.unit:
        raise Conflict("officer_not_eligible",
                       f"officer {target.pk} ({target.name}, {target.office.code} {target.unit}, {status_label(target)}) "
                       f"is not an active officer of {officer.office.code} {officer.unit}")
    return target


def do_depart(*, officer_id: int, on: dt.date, reassign: str = "auto", actor=None, actor_label: str = "cli:officers depart") -> dict:
    """Record that an officer left the agency on ``on``; all their open cases are reassigned in
    the same transaction (``reassign`` = ``auto`` or the id of an active officer of the same
    office and unit)."""
    _check_not_future(on, "--on")
    with transaction.atomic():
        officer = access_officer(officer_id, for_update=True)
        _check_present(officer)
        target = _check_target(officer, reassign)
        officer.status, officer.departed_on = OfficerStatus.SEPARATED, on
        officer.leave_from = officer.leave_until = None
        officer.save(update_fields=["status", "departed_on", "leave_from", "leave_until"])
        why = f"departed on {on}"
        by_unit = _release_cases(officer, why=why, actor=actor, actor_label=actor_label)
        ids = [i for v in by_unit.values() for i in v]
        result = (_reassign_to(officer, target, ids, why=why, actor_label=actor_label) if target
                  else reassign_automatically(officer.office, by_unit, actor_label=actor_label))
        audit.record(action="officer.departed", actor=actor, actor_label=actor_label, object_type="officer",
                     object_id=officer.pk, office_id=officer.office_id,
                     details={"on": on, "reassign": reassign, "cases": result.cases, "reassigned": len(result.assigned),
                              "left_unassigned": [u["case_id"] for u in result.unassigned]})
    return {"officer": _officer_dict(officer), **result.as_dict()}


def do_transfer_officer(*, officer_id: int, office: str, on: dt.date, actor=None,
                        actor_label: str = "cli:officers transfer") -> dict:
    """Move an officer to another office on ``on``. Their open cases stay in the old office and
    are reassigned there automatically, in the same transaction."""
    _check_not_future(on, "--on")
    new_office = check_office(office)
    with transaction.atomic():
        officer = access_officer(officer_id, for_update=True)
        _check_present(officer)
        old_office = officer.office
        if old_office.pk == new_office.pk:
            raise UsageError("same_office", f"officer {officer.pk} already works in {new_office.code}")
        officer.office = new_office
        officer.save(update_fields=["office"])
        by_unit = _release_cases(officer, why=f"transferred to {new_office.code} on {on}", actor=actor, actor_label=actor_label)
        result = reassign_automatically(old_office, by_unit, actor_label=actor_label)
        audit.record(action="officer.transferred", actor=actor, actor_label=actor_label, object_type="officer",
                     object_id=officer.pk, office_id=new_office.id,
                     details={"from_office": old_office.code, "to_office": new_office.code, "on": on, "cases": result.cases,
                              "reassigned": len(result.assigned),
                              "left_unassigned": [u["case_id"] for u in result.unassigned]})
    return {"officer": _officer_dict(officer), "from_office": old_office.code, **result.as_dict()}
