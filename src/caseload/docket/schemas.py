"""API schemas of the docket: cases, people, intake, check-ins, contacts, transitions, worklists.

Field names are the command line's JSON keys (``docket list``, ``case show``, ``case open``,
``checkin record``, ``worklist``, ``overdue``, ``docket summary``) where the command exists.
"""

import datetime as dt
from typing import Annotated, Literal

from ninja import Schema
from pydantic import AfterValidator, Field

from caseload.core.api import Day, Id, Minutes, OfficeCode, Text, Version, text
from caseload.core.schemas import Document
from caseload.docket.lifecycle import TARGETS
from caseload.docket.models import CheckInMethod, EntryManner, Stage, SupervisionType
from caseload.offices.models import Unit


def _choices(values) -> object:
    return Literal.__getitem__(tuple(values))


UnitName = _choices(Unit.values)
StageName = _choices(Stage.values)
SupervisionName = _choices(SupervisionType.values)


def _bounded_instant(value: dt.datetime) -> dt.datetime:
    """An aware instant between 1900 and 2999 (a naive one is taken as UTC)."""
    value = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if not 1900 <= value.year <= 2999 or not 1900 <= value.astimezone(dt.UTC).year <= 2999:
        raise ValueError("the time must lie between 1900 and 2999")
    return value


Instant = Annotated[dt.datetime, AfterValidator(_bounded_instant)]


# --- reading ----------------------------------------------------------------------------------

class CaseRow(Document):
    case_id: int
    a_number: str
    office: str
    officer: int | None
    unit: str
    supervision_type: str
    stage: str
    status: str
    priority: str | None
    version: int


class CasePage(Document):
    cases: list[CaseRow]
    next_after: int | None = Field(description="pass as `after` for the next page; null on the last page")


class CaseOut(Document):
    case_id: int
    a_number: str
    name: str
    office: str
    officer: int | None
    officer_name: str | None
    unit: str
    supervision_type: str
    stage: str
    status: str
    priority: str | None
    priority_rule_set: str | None
    opened_on: dt.date
    closed_on: dt.date | None
    close_reason: str
    final_order_date: dt.date | None
    appeal_pending: bool
    stay_of_removal_until: dt.date | None
    removal_scheduled_for: dt.date | None
    reporting_cadence_days: int
    next_report_due: dt.date | None
    last_contact_on: dt.date | None
    version: int
    allowed_transitions: list[str]
    removal_step_blockers: list[str]


class ConvictionOut(Document):
    convicted_on: dt.date
    offense_category: str
    severity: str
    aggravated_felony: bool
    custody_days: int


class DueTask(Document):
    task: str
    due: dt.date
    overdue: bool


class CheckInBrief(Document):
    scheduled_for: dt.date
    outcome: str
    method: str
    records_check: str
    note: str


class TravelDocumentBrief(Document):
    id: int
    country: str
    requested_on: dt.date | None
    status: str
    decided_on: dt.date | None
    expires_on: dt.date | None


class PersonCase(Document):
    case_id: int
    office: str
    unit: str
    status: str
    stage: str
    supervision_type: str
    officer: int | None
    officer_name: str | None
    opened_on: dt.date
    closed_on: dt.date | None
    close_reason: str
    priority: str | None
    final_order_date: dt.date | None
    next_report_due: dt.date | None
    tasks: list[DueTask]
    check_ins: list[CheckInBrief]
    travel_documents: list[TravelDocumentBrief]


class PersonOut(Document):
    a_number: str
    name: str
    family_name: str
    given_name: str
    birth_date: dt.date | None
    gender: str
    citizenship: str | None
    entry_date: dt.date | None
    entry_manner: str
    last_apprehension_date: dt.date | None
    apprehension_place: str
    national_security: bool
    citizenship_claim: str
    convictions: list[ConvictionOut]
    cases: list[PersonCase]


class SummaryOffice(Document):
    office: str
    cases: int
    officers: int
    cases_per_officer: float | None


class SummaryOut(Document):
    cases: int
    people: int
    officers: int
    convicted: int
    final_orders: int
    by_office: list[SummaryOffice]


class WorklistTask(Document):
    a_number: str
    case_id: int
    task: str
    due: dt.date
    overdue: bool
    priority: str | None
    national_security: bool


class TaskCount(Document):
    tasks: int
    overdue: int


class WorklistCounts(Document):
    cases: int
    tasks: int
    overdue: int
    by_task: dict[str, TaskCount]


class WorklistOut(Document):
    officer: int
    as_of: dt.date
    tasks: list[WorklistTask]
    counts: WorklistCounts


class OverdueTotals(Document):
    open_cases: int
    overdue: int
    by_task: dict[str, int]


class OverdueOffice(OverdueTotals):
    office: str


class OverdueOfficer(OverdueTotals):
    officer: int
    name: str
    office: str


class UnassignedCase(Document):
    case_id: int
    a_number: str
    office: str
    opened_on: dt.date
    stage: str


class StaleNationalSecurityCase(Document):
    case_id: int
    a_number: str
    office: str
    officer: int | None
    last_contact_on: dt.date | None
    ns_reviewed_on: dt.date | None
    reasons: list[str]


class OverdueOut(Document):
    as_of: dt.date
    office: str | None
    rule_set: str
    task_types: list[str]
    totals: OverdueTotals
    offices: list[OverdueOffice]
    officers: list[OverdueOfficer]
    unassigned_cases: list[UnassignedCase]
    stale_national_security_cases: list[StaleNationalSecurityCase]


# --- writing ----------------------------------------------------------------------------------

class ConvictionIn(Schema):
    category: text(60, min_length=1) = Field(description="an offense category of docs/offense-taxonomy.md")
    convicted_on: Day
    felony: bool = False
    custody_days: Annotated[int, Field(ge=0, le=36500)] = 0


class IntakeIn(Schema):
    a_number: text(20, min_length=1) = Field(description="A123-456-789 or nine digits")
    family_name: text(100, min_length=1)
    given_name: text(100, min_length=1)
    birth_date: Day
    citizenship: text(80, min_length=1) = Field(description="ISO 3166 code or country name")
    office: OfficeCode
    unit: UnitName
    supervision_type: SupervisionName
    stage: Literal["pending", "appeal", "final_order"]
    final_order_date: Day | None = None
    entry_date: Day | None = None
    entry_manner: _choices(EntryManner.values) | None = None
    apprehended_on: Day | None = None
    apprehended_at_border: bool = False
    national_security: bool = False
    convictions: list[ConvictionIn] = Field(default_factory=list, max_length=100)


class OpenedOut(Document):
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


class CheckInIn(Schema):
    expected_version: Version
    outcome: Literal["appeared", "missed", "rescheduled"]
    method: _choices(CheckInMethod.values) | None = None
    scheduled_for: Day | None = None
    occurred_at: Instant | None = Field(None, description="when the person appeared (default now)")
    records_check: Literal["clear", "hit", "unavailable"] | None = Field(
        None, description="required when the person appeared")
    records_check_detail: Text = ""
    reschedule_to: Day | None = None
    note: Text = ""
    officer: Id | None = Field(None, description="officer who did the work (default the case's officer)")
    minutes: Minutes | None = None
    records_check_minutes: Minutes | None = None


class CheckInOut(Document):
    check_in: int
    case_id: int
    outcome: str
    records_check: str
    next_report_due: dt.date | None
    missed_in_a_row: int
    failed_to_report_on: dt.date | None
    version: int


class RecordsCheckIn(Schema):
    expected_version: Version
    result: Literal["clear", "hit", "unavailable"]
    detail: Text = ""
    officer: Id | None = None
    minutes: Minutes | None = None


class RecordsCheckOut(Document):
    case_id: int
    check_ins: list[int]
    records_check: str
    version: int


class ContactIn(Schema):
    expected_version: Version
    activity: text(40, min_length=1) = Field("home_visit", description="a case activity of activities.toml")
    on: Day | None = None
    note: Text = ""
    officer: Id | None = None
    minutes: Minutes | None = None


class CaseChangeOut(Document):
    case_id: int
    version: int
    stage: str
    status: str


class ContactOut(CaseChangeOut):
    last_contact_on: dt.date | None


class TransitionIn(Schema):
    expected_version: Version
    to: _choices(TARGETS)
    reason: text(200, min_length=1) = Field(description="why: the decision, its date and source")
    on: Day | None = None
    officer: Id | None = None
    minutes: Minutes | None = None
