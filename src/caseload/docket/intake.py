"""Case intake, transfer and closing; looking a person up (show and search).

:func:`do_open_case` is the one way a case enters the docket one at a time (the command line,
the web form and the API call it). It validates everything first, so a refusal writes nothing;
then, in one transaction, it creates or updates the person, records the convictions, opens the
case with its priority under the rule set in force and its reporting cadence, records the
intake processing as the first contact (whose records check is owed), derives the check-in
facts, and assigns the case by the staffing rule (the eligible officer with the lowest
capacity %), storing the explanation. A case no officer can take stays unassigned and appears
at once in the unassigned lists. See docs/cli.md ("Intake").
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models.expressions import RawSQL

from caseload.core import audit, clock
from caseload.core.errors import Conflict, NotFound, UsageError
from caseload.docket import anumber, taxonomy
from caseload.docket.models import (ApprehensionPlace, Case, CaseStatus, CheckIn, CheckInOutcome, Conviction,
                                    EntryManner, Person, Severity, Stage, SupervisionType)
from caseload.offices.models import FieldOffice, Officer
from caseload.offices.services import check_office, check_unit, reassign_automatically

OPEN_STAGES = (Stage.PENDING, Stage.APPEAL, Stage.FINAL_ORDER)
CLOSE_REASONS = ("removed", "departed", "relief_granted", "terminated", "deceased", "duplicate")
# The transition of docket/lifecycle.py each close reason goes through (with its guards).
CLOSE_TRANSITIONS = {"removed": "removed", "relief_granted": "relief_granted", "terminated": "terminated",
                     "departed": "closed", "deceased": "closed", "duplicate": "closed"}
INTAKE_NOTE = "intake processing at case opening; the records check is owed"
SEARCH_MAX_LIMIT = 1000


# --- checking input -------------------------------------------------------------------------

def check_a_number(value: str) -> str:
    """The nine stored digits of an A-number, or UsageError ``invalid_a_number``."""
    try:
        return anumber.normalize(value)
    except ValidationError as exc:
        raise UsageError("invalid_a_number", exc.messages[0]) from None


def check_citizenship(value: str) -> str:
    """An ISO 3166-1 alpha-2 code from a code or a country name (pycountry and the alias table)."""
    from caseload.countries.models import Country
    from caseload.countries.names import to_alpha2

    text = (value or "").strip()
    code = text.upper() if len(text) == 2 and Country.objects.filter(pk=text.upper()).exists() else to_alpha2(text)
    if not code or not Country.objects.filter(pk=code).exists():
        raise UsageError("unknown_country", f"no country with the code or name {value!r}")
    return code


def _choice(value: str | None, choices, code: str, what: str) -> str:
    if value not in choices:
        raise UsageError(code, f"{what} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _past(day: dt.date | None, what: str) -> dt.date | None:
    today = clock.today()
    if day is not None and day > today:
        raise UsageError("date_in_future", f"{what} {day} is after today ({today})")
    return day


@dataclass(frozen=True)
class ConvictionInput:
    category: str
    convicted_on: dt.date
    felony: bool = False
    custody_days: int = 0

    @property
    def severity(self) -> str:
        return Severity.FELONY if self.felony else Severity.MISDEMEANOR


_CONVICTION = re.compile(r"^(?P<cat>[a-z_]+):(?P<date>\d{4}-\d{2}-\d{2})(?::(?P<felony>felony))?(?::(?P<days>\d+))?$")


def parse_conviction(text: str) -> ConvictionInput:
    """``CATEGORY:DATE[:felony][:custody_days]``, e.g. ``dui:2019-04-02`` or ``burglary:2018-01-09:felony:120``."""
    match = _CONVICTION.match(text.strip())
    if not match:
        raise UsageError("invalid_conviction", f"--conviction must be CATEGORY:DATE[:felony][:custody_days], got {text!r}")
    try:
        day = dt.date.fromisoformat(match["date"])
    except ValueError:
        raise UsageError("invalid_conviction", f"--conviction {text!r}: {match['date']} is not a date") from None
    return ConvictionInput(match["cat"], day, bool(match["felony"]), int(match["days"] or 0))


def check_conviction(c: ConvictionInput, birth_date: dt.date | None) -> ConvictionInput:
    if c.category not in taxonomy.categories():
        raise UsageError("unknown_offense_category",
                         f"unknown offense category {c.category!r}; see docs/offense-taxonomy.md")
    _past(c.convicted_on, "the conviction date")
    if birth_date and c.convicted_on < birth_date:
        raise UsageError("conviction_before_birth", f"a conviction on {c.convicted_on} is before the birth date {birth_date}")
    return c


@dataclass(frozen=True)
class Intake:
    """Checked intake facts (what :func:`check_intake` returns and :func:`do_open_case` writes)."""

    a_number: str
    family_name: str
    given_name: str
    birth_date: dt.date
    citizenship: str
    office: FieldOffice
    unit: str
    supervision_type: str
    stage: str
    final_order_date: dt.date | None
    entry_date: dt.date | None
    entry_manner: str
    apprehended_on: dt.date | None
    apprehension_place: str
    national_security: bool
    convictions: tuple[ConvictionInput, ...]


def check_intake(*, a_number: str, family_name: str, given_name: str, birth_date: dt.date | None, citizenship: str,
                 office: str, unit: str, supervision_type: str, stage: str, final_order_date: dt.date | None = None,
                 entry_date: dt.date | None = None, entry_manner: str | None = None,
                 apprehended_on: dt.date | None = None, apprehended_at_border: bool = False,
                 national_security: bool = False, convictions=()) -> Intake:
    """Every check of an intake, before anything is written (UsageError on bad input)."""
    digits = check_a_number(a_number)
    family_name, given_name = (family_name or "").strip(), (given_name or "").strip()
    if not family_name or not given_name:
        raise UsageError("name_required", "the family name and the given name are required")
    if birth_date is None:
        raise UsageError("birth_date_required", "the birth date is required")
    _past(birth_date, "the birth date")
    fo = check_office(office)
    unit = check_unit(unit)
    _choice(supervision_type, SupervisionType.values, "unknown_supervision_type", "the supervision type")
    _choice(stage, [str(s) for s in OPEN_STAGES], "invalid_stage", "a new case's stage")
    _past(final_order_date, "the final order date")
    if stage == Stage.FINAL_ORDER and final_order_date is None:
        raise UsageError("final_order_date_required", "a case at the final-order stage needs --final-order-date")
    if stage != Stage.FINAL_ORDER and final_order_date is not None:
        raise UsageError("final_order_date_not_allowed", f"a case at the {stage} stage has no final order date")
    if final_order_date is not None and final_order_date < birth_date:
        raise UsageError("final_order_before_birth", f"the final order date {final_order_date} is before the birth date")
    manner = _choice(entry_manner or EntryManner.UNKNOWN, EntryManner.values, "unknown_entry_manner", "the entry manner")
    _past(entry_date, "the entry date")
    if entry_date is not None and entry_date < birth_date:
        raise UsageError("entry_before_birth", f"the entry date {entry_date} is before the birth date {birth_date}")
    _past(apprehended_on, "the apprehension date")
    if apprehended_at_border and apprehended_on is None:
        raise UsageError("apprehension_date_required", "--apprehended-at-border needs --apprehended-on")
    place = (ApprehensionPlace.BORDER if apprehended_at_border else ApprehensionPlace.INTERIOR) if apprehended_on else ""
    checked = tuple(check_conviction(c if isinstance(c, ConvictionInput) else parse_conviction(c), birth_date)
                    for c in convictions)
    return Intake(digits, family_name, given_name, birth_date, check_citizenship(citizenship), fo, unit, supervision_type,
                  stage, final_order_date, entry_date, manner, apprehended_on, place, bool(national_security), checked)


# --- opening a case -------------------------------------------------------------------------

@dataclass
class OpenedCase:
    case_id: int
    a_number: str
    office: str
    unit: str
    officer: int | None
    assignment_reason: str
    priority: str | None
    priority_rule_set: str | None
    next_report_due: dt.date
    person_id: int
    new_person: bool

    def as_dict(self) -> dict:
        doc = asdict(self)
        doc["next_report_due"] = self.next_report_due.isoformat()
        return doc


def _person_fields(i: Intake) -> dict:
    return {"first_name": i.given_name, "last_name": i.family_name, "birth_date": i.birth_date,
            "citizenship_id": i.citizenship, "entry_date": i.entry_date, "entry_manner": i.entry_manner,
            "last_apprehension_date": i.apprehended_on, "apprehension_place": i.apprehension_place,
            "national_security_flag": i.national_security, "office": i.office}


def check_no_open_case(person: Person) -> None:
    """A person has at most one open case anywhere: Conflict ``open_case_exists`` names it."""
    found = person.cases.filter(status=CaseStatus.OPEN).select_related("office").order_by("id").first()
    if found is not None:
        raise Conflict("open_case_exists",
                       f"{person.a_number_display} already has open case {found.pk} at {found.office.code}; "
                       "transfer or close it instead", case_id=found.pk, office=found.office.code)


def _priority(case: Case, as_of: dt.date) -> tuple[str, int | None, str]:
    """(level, rank, rule set id) under the rule set in force; unclassified when none is installed."""
    from caseload.policy.services import decide, rule_set_in_force

    try:
        doc = rule_set_in_force(as_of)
    except NotFound:
        return "", None, ""
    level, *_ = decide(doc, case, as_of=as_of)
    return level, doc.rank(level), doc.id


def _cadence_days(case: Case, as_of: dt.date) -> int:
    from caseload.policy.services import cadence_table_in_force

    table = cadence_table_in_force(as_of)
    return table.days_for(priority_rule_set=case.priority_rule_set, priority=case.priority,
                          supervision_type=case.supervision_type)


def _intake_check_in(case: Case, now: dt.datetime) -> dict:
    """The intake processing recorded as the first contact; its records check is owed, so the
    records-check task exists from the first day. Returns the derived check-in columns."""
    from caseload.docket.checkins import check_in_facts

    CheckIn.objects.create(case=case, office_id=case.office_id, scheduled_for=case.opened_on, occurred_at=now,
                           outcome=CheckInOutcome.APPEARED, note=INTAKE_NOTE)
    return check_in_facts(case.pk)


def _assign(case: Case, *, actor_label: str) -> tuple[int | None, str]:
    """Assign one new or moved case by the staffing rule; (officer id, explanation or reason)."""
    result = reassign_automatically(case.office, {case.unit: [case.pk]}, actor_label=actor_label)
    if result.assigned:
        return result.assigned[0]["to_officer"], result.assigned[0]["explanation"]
    reason = result.unassigned[0]["reason"] if result.unassigned else "no eligible officer"
    audit.record(action="case.left_unassigned", actor_label=actor_label, object_type="case", object_id=case.pk,
                 office_id=case.office_id, details={"reason": reason})
    return None, f"Left unassigned: {reason}; the case is listed among the office's unassigned cases."


def do_open_case(*, a_number: str, family_name: str, given_name: str, birth_date: dt.date | None, citizenship: str,
                 office: str, unit: str, supervision_type: str, stage: str, final_order_date: dt.date | None = None,
                 entry_date: dt.date | None = None, entry_manner: str | None = None,
                 apprehended_on: dt.date | None = None, apprehended_at_border: bool = False,
                 national_security: bool = False, convictions=(), actor=None,
                 actor_label: str | None = None) -> OpenedCase:
    """Open a case (see the module docstring). A known person gets a new case linked to the same
    person record (their facts updated to the intake's, new convictions added); a person who
    already has an open case anywhere is refused with ``open_case_exists``."""
    from caseload.docket.lifecycle import save_person, write_case

    i = check_intake(a_number=a_number, family_name=family_name, given_name=given_name, birth_date=birth_date,
                     citizenship=citizenship, office=office, unit=unit, supervision_type=supervision_type, stage=stage,
                     final_order_date=final_order_date, entry_date=entry_date, entry_manner=entry_manner,
                     apprehended_on=apprehended_on, apprehended_at_border=apprehended_at_border,
                     national_security=national_security, convictions=convictions)
    label = actor_label or (actor.get_username() if actor is not None else "")
    today, now = clock.today(), clock.now()
    with transaction.atomic():
        person = Person.objects.select_for_update().filter(a_number=i.a_number).first()
        new_person = person is None
        if person is None:
            person = Person(a_number=i.a_number, **_person_fields(i))
            person._history_date = now
            try:
                with transaction.atomic():
                    person.save()
            except IntegrityError:  # another intake of the same A-number committed first
                raise Conflict("open_case_exists", f"{anumber.display(i.a_number)} was opened by another user "
                                                   "meanwhile; show the person's record") from None
            index_person(person.pk, (person.first_name, person.last_name))
        else:
            check_no_open_case(person)
            old_name = (person.first_name, person.last_name)
            for name, value in _person_fields(i).items():
                setattr(person, name, value)
            save_person(person, fields=[f.removesuffix("_id") for f in _person_fields(i)], actor=actor,
                        reason="case opened: intake facts")
            index_person(person.pk, (person.first_name, person.last_name), old=old_name)
        known = set(person.convictions.values_list("offense_category", "convicted_on"))
        added = [c for c in i.convictions if (c.category, c.convicted_on) not in known]
        Conviction.objects.bulk_create([
            Conviction(person=person, office=i.office, convicted_on=c.convicted_on, offense_category=c.category,
                       severity=c.severity, sentence_days=c.custody_days, custody_days=c.custody_days,
                       incident_id=f"{i.a_number}-{c.convicted_on:%Y%m%d}")
            for c in added])
        started = min(today, i.final_order_date) if i.final_order_date else today
        case = Case(person=person, office=i.office, unit=i.unit, supervision_type=i.supervision_type, stage=i.stage,
                    proceedings_started_on=started, stage_changed_on=i.final_order_date or today,
                    final_order_date=i.final_order_date, appeal_pending=i.stage == Stage.APPEAL,
                    appeal_filed_on=today if i.stage == Stage.APPEAL else None, reporting_cadence_days=1,
                    opened_on=today, last_contact_on=today, derived_current=True)
        case._history_date = now
        case.save()
        case.person = person
        level, rank, rule_set = _priority(case, today)
        case.priority, case.priority_rule_set = level, rule_set
        cadence = _cadence_days(case, today)
        derived = _intake_check_in(case, now)
        changes = {"priority": level, "priority_rank": rank, "priority_rule_set": rule_set,
                   "reporting_cadence_days": cadence, "next_report_due": today + dt.timedelta(days=cadence), **derived}
        case = write_case(case, changes=changes, action="case.opened", actor=actor, actor_label=label,
                          reason="case opened at intake",
                          details={"a_number": i.a_number, "new_person": new_person, "convictions_added": len(added),
                                   "unit": i.unit, "office": i.office.code})
        officer, reason = _assign(case, actor_label=label)
    return OpenedCase(case.pk, anumber.display(i.a_number), i.office.code, i.unit, officer, reason, level or None,
                      rule_set or None, changes["next_report_due"], person.pk, new_person)


# --- moving and closing a case -------------------------------------------------------------

def _access_open_case(case_id: int) -> Case:
    from caseload.docket.lifecycle import access_case, check_open

    try:
        case = access_case(case_id)
    except NotFound as exc:
        raise UsageError(exc.code, exc.message) from None
    check_open(case)
    return case


def _recount(*officer_ids: int | None) -> None:
    """Keep the denormalised per-officer open-case count in step (same transaction)."""
    for officer_id in {o for o in officer_ids if o}:
        Officer.objects.filter(pk=officer_id).update(
            open_cases=Case.objects.filter(officer_id=officer_id, status=CaseStatus.OPEN).count())


def do_transfer_case(*, case_id: int, office: str, reason: str, actor=None, actor_label: str | None = None) -> dict:
    """The person moved: the case (with its history: check-ins, tasks, convictions) moves to
    ``office`` and is assigned there by the staffing rule, all in one transaction."""
    from caseload.docket.lifecycle import check_reason, save_person, write_case

    reason = check_reason(reason)
    new_office = check_office(office)
    label = actor_label or (actor.get_username() if actor is not None else "")
    with transaction.atomic():
        case = _access_open_case(case_id)
        old_office, old_officer = case.office, case.officer_id
        if old_office.pk == new_office.pk:
            raise UsageError("same_office", f"case {case.pk} is already at {new_office.code}")
        case = write_case(case, changes={"office_id": new_office.pk, "officer_id": None}, action="case.transferred",
                          actor=actor, actor_label=label, reason=reason,
                          details={"from_office": old_office.code, "to_office": new_office.code, "from_officer": old_officer})
        case.office = new_office
        person = case.person
        person.office = new_office
        save_person(person, fields=["office"], actor=actor, reason=f"case transferred to {new_office.code}")
        Conviction.objects.filter(person=person).update(office=new_office)
        _recount(old_officer)
        officer, explanation = _assign(case, actor_label=label)
    return {"case_id": case.pk, "a_number": person.a_number_display, "from_office": old_office.code,
            "office": new_office.code, "unit": case.unit, "from_officer": old_officer, "officer": officer,
            "assignment_reason": explanation}


def do_close_case(*, case_id: int, reason: str, on: dt.date, actor=None, actor_label: str | None = None) -> dict:
    """Close a case for one of :data:`CLOSE_REASONS` on ``on`` (not before it opened, not in the
    future), through the transition table (a removal passes the due-process guards)."""
    from caseload.docket.lifecycle import do_transition

    _choice(reason, CLOSE_REASONS, "invalid_close_reason", "the close reason")
    _past(on, "the closing date")
    label = actor_label or (actor.get_username() if actor is not None else "")
    with transaction.atomic():
        case = _access_open_case(case_id)
        if on < case.opened_on:
            raise UsageError("date_before_opening", f"case {case.pk} opened on {case.opened_on}; it cannot close on {on}")
        officer = case.officer_id
        case = do_transition(case=case, to=CLOSE_TRANSITIONS[reason], reason=reason, on=on, actor=actor, actor_label=label)
        _recount(officer)
    return {"case_id": case.pk, "status": case.status, "stage": case.stage, "closed_on": case.closed_on.isoformat(),
            "close_reason": case.close_reason, "version": case.version}


# --- looking a person up --------------------------------------------------------------------

def _iso(value):
    return value.isoformat() if isinstance(value, dt.date) else value


def person_record(a_number: str, *, actor=None, via: str = "case show") -> dict:
    """The person, their cases, convictions, due tasks, check-ins and travel documents; an
    audited read (``case.read``). Outside the actor's scope the person is reported missing."""
    from caseload.core.access import access_person, visible_cases
    from caseload.core.audit import record_read
    from caseload.countries.models import TravelDocumentRequest
    from caseload.docket import tasks as task_rules
    from caseload.docket.worklist import fetch_cases

    digits = check_a_number(a_number)
    try:
        person = access_person(actor, digits)
    except NotFound:
        raise UsageError("unknown_a_number", f"no person with A-number {anumber.display(digits)}") from None
    cases = list(visible_cases(actor).filter(person=person).select_related("office", "officer").order_by("id"))
    rules = task_rules.load_rules()
    cols, td = fetch_cases("c.person_id = %s", [person.pk])
    found = task_rules.derive(cols, as_of=clock.today(), rules=rules, td=td)
    tasks_by_case: dict[int, list[dict]] = {}
    for k in task_rules.worklist_order(found, cols["priority_rank"], cols["case_id"]):
        cid = int(cols["case_id"][found.case_index[k]])
        tasks_by_case.setdefault(cid, []).append({
            "task": rules.codes[found.task[k]], "due": task_rules.day_date(int(found.due[k])).isoformat(),
            "overdue": bool(found.overdue[k])})
    case_ids = [c.pk for c in cases]
    check_ins: dict[int, list[dict]] = {}
    for ci in CheckIn.objects.filter(case_id__in=case_ids).order_by("case_id", "-scheduled_for", "-id"):
        check_ins.setdefault(ci.case_id, []).append({
            "scheduled_for": ci.scheduled_for.isoformat(), "outcome": ci.outcome, "method": ci.method,
            "records_check": ci.records_check, "note": ci.note})
    documents: dict[int, list[dict]] = {}
    for r in TravelDocumentRequest.objects.filter(case_id__in=case_ids).order_by("case_id", "requested_on", "id"):
        documents.setdefault(r.case_id, []).append({
            "id": r.pk, "country": r.country_id, "requested_on": _iso(r.requested_on), "status": r.status,
            "decided_on": _iso(r.decided_on), "expires_on": _iso(r.expires_on)})
    doc = {
        "a_number": person.a_number_display,
        "name": f"{person.last_name}, {person.first_name}",
        "family_name": person.last_name, "given_name": person.first_name,
        "birth_date": _iso(person.birth_date), "gender": person.gender, "citizenship": person.citizenship_id,
        "entry_date": _iso(person.entry_date), "entry_manner": person.entry_manner,
        "last_apprehension_date": _iso(person.last_apprehension_date), "apprehension_place": person.apprehension_place,
        "national_security": person.national_security_flag, "citizenship_claim": person.citizenship_claim,
        "convictions": [{"convicted_on": c.convicted_on.isoformat(), "offense_category": c.offense_category,
                         "severity": c.severity, "aggravated_felony": c.aggravated_felony, "custody_days": c.custody_days}
                        for c in person.convictions.order_by("convicted_on", "id")],
        "cases": [{"case_id": c.pk, "office": c.office.code, "unit": c.unit, "status": c.status, "stage": c.stage,
                   "supervision_type": c.supervision_type, "officer": c.officer_id,
                   "officer_name": c.officer.name if c.officer else None, "opened_on": c.opened_on.isoformat(),
                   "closed_on": _iso(c.closed_on), "close_reason": c.close_reason, "priority": c.priority or None,
                   "final_order_date": _iso(c.final_order_date), "next_report_due": _iso(c.next_report_due),
                   "tasks": tasks_by_case.get(c.pk, []), "check_ins": check_ins.get(c.pk, []),
                   "travel_documents": documents.get(c.pk, [])}
                  for c in cases],
    }
    record_read(action="case.read", via=via, actor=actor, case_ids=case_ids, a_numbers=[person.a_number],
                office_id=cases[-1].office_id if cases else person.office_id)
    return doc


# --- full-text index of people's names ------------------------------------------------------
# SQLite: the FTS5 table docket_person_fts (external content: docket_person), written by the
# services that write names and caught up in bulk by the search itself (a bulk load writes
# people without it). PostgreSQL: a GIN index on the expression the search queries, always
# current. See the docket migration 0005 and docs/cli.md ("Intake").

FTS = "docket_person_fts"
_WORD = re.compile(r"\w+", re.UNICODE)


def index_person(person_id: int, name: tuple[str, str], *, old: tuple[str, str] | None = None) -> None:
    """Put one person's (given, family) name in the SQLite search index, replacing ``old`` (the
    name the index holds, if it holds the person); call in the writing transaction."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cur:
        cur.execute(f"SELECT 1 FROM {FTS}_docsize WHERE id = %s", [person_id])
        if cur.fetchone() is not None:
            if old is None:
                return  # indexed already (caught up by a search since the row was written)
            cur.execute(f"INSERT INTO {FTS}({FTS}, rowid, first_name, last_name) VALUES ('delete', %s, %s, %s)",
                        [person_id, *old])
        cur.execute(f"INSERT INTO {FTS}(rowid, first_name, last_name) VALUES (%s, %s, %s)", [person_id, *name])


def index_new_people(first_id: int, last_id: int) -> None:
    """Index the people with ids in [first_id, last_id] in one statement (bulk loads)."""
    if connection.vendor != "sqlite" or last_id < first_id:
        return
    with connection.cursor() as cur:
        cur.execute(f"INSERT INTO {FTS}(rowid, first_name, last_name) SELECT id, first_name, last_name "
                    "FROM docket_person WHERE id BETWEEN %s AND %s", [first_id, last_id])


def _catch_up_index() -> None:
    """Bring the SQLite index level with docket_person: index rows added by bulk loads since;
    rebuild when rows were deleted (a replaced docket)."""
    with connection.cursor() as cur:
        cur.execute(f"SELECT COUNT(*), COALESCE(MAX(id), 0) FROM {FTS}_docsize")
        indexed, indexed_max = cur.fetchone()
        cur.execute("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM docket_person")
        people, people_max = cur.fetchone()
        if (indexed, indexed_max) == (people, people_max):
            return
        cur.execute("SELECT COUNT(*) FROM docket_person WHERE id > %s", [indexed_max])
        newer = cur.fetchone()[0]
        with transaction.atomic():
            if indexed_max <= people_max and indexed + newer == people:
                index_new_people(indexed_max + 1, people_max)
            else:  # rows were deleted: rebuild from the table
                cur.execute(f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')")


def _name_query(words: list[str]) -> tuple[str, list]:
    """SQL selecting person ids whose names hold every word as a word prefix."""
    if connection.vendor == "sqlite":
        _catch_up_index()
        match = " ".join('"' + w.replace('"', "") + '"*' for w in words)
        return f"SELECT rowid FROM {FTS} WHERE {FTS} MATCH %s", [match]
    return ("SELECT id FROM docket_person WHERE to_tsvector('simple', first_name || ' ' || last_name) "
            "@@ to_tsquery('simple', %s)", [" & ".join(f"{w}:*" for w in words)])


def search(text: str, *, office: str | None = None, limit: int = 20, actor=None, via: str = "case search") -> list[dict]:
    """People by A-number prefix (digits, with or without ``A`` and dashes) or by name words
    (every word a prefix of a given or family name), with their latest case; an audited read
    (``case.list``)."""
    from caseload.core.access import visible_cases
    from caseload.core.audit import record_read

    if not 1 <= limit <= SEARCH_MAX_LIMIT:
        raise UsageError("invalid_limit", f"limit must be between 1 and {SEARCH_MAX_LIMIT}, got {limit}")
    query = (text or "").strip()
    digits = re.sub(r"[\s-]", "", query)
    digits = digits[1:] if digits[:1] in ("A", "a") else digits
    cases = visible_cases(actor).select_related("person", "office")
    if office:
        cases = cases.filter(office=check_office(office))
    if digits.isdigit():
        if len(digits) > 9:
            raise UsageError("invalid_a_number", f"{query!r} has more than nine digits")
        low, high = digits.ljust(9, "0"), digits.ljust(9, "9")
        cases = cases.filter(person__a_number__gte=low, person__a_number__lte=high)
    else:
        words = [w.lower() for w in _WORD.findall(query)]
        if not words:
            raise UsageError("empty_query", "search for an A-number prefix or at least one word of a name")
        sql, params = _name_query(words)
        cases = cases.filter(person_id__in=RawSQL(sql, params))
    # one row per person: their open case, else their latest
    order = ("person__a_number",) if digits.isdigit() else ("person__last_name", "person__first_name", "person__a_number")
    rows, seen = [], set()
    for c in cases.order_by(*order, "-status", "-opened_on", "-id").iterator(chunk_size=4 * limit):
        if c.person_id in seen:
            continue
        seen.add(c.person_id)
        rows.append(c)
        if len(rows) == limit:
            break
    doc = [{"a_number": c.person.a_number_display, "name": f"{c.person.last_name}, {c.person.first_name}",
            "case_id": c.pk, "office": c.office.code, "officer": c.officer_id, "stage": c.stage, "status": c.status}
           for c in rows]
    record_read(action="case.list", via=via, actor=actor, case_ids=[c.pk for c in rows],
                a_numbers=[c.person.a_number for c in rows])
    return doc

