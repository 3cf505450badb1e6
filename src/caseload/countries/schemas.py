"""API schemas of the countries app: travel-document requests and events, the country report.

Field names are those of ``countries td show`` and ``countries report``."""

import datetime as dt
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from caseload.core.api import Day, Version, text
from caseload.core.schemas import Document


class TravelDocumentRow(Document):
    id: int
    case: int
    a_number: str
    office: str
    country: str
    status: str
    requested_on: dt.date
    interview_on: dt.date | None
    decided_on: dt.date | None
    expires_on: dt.date | None


class TravelDocumentPage(Document):
    requests: list[TravelDocumentRow]
    next_after: int | None = Field(description="pass as `after` for the next page; null on the last page")


class TravelDocumentOut(Document):
    id: int
    case: int
    a_number: str
    office: str
    country: str
    status: str
    requested_on: dt.date | None
    interview_on: dt.date | None
    decided_on: dt.date | None
    expires_on: dt.date | None
    refusal_reason: str
    closed_on: dt.date | None
    withdrawal_reason: str
    queue_position: int | None
    queue_length: int
    quota_remaining: int | None
    escalations: list[dict[str, Any]]


class TravelDocumentRequestIn(Schema):
    expected_version: Version
    country: text(80, min_length=1) | None = Field(None, description="country asked (default: the person's citizenship)")
    on: Day | None = Field(None, description="request date (default today)")


class TravelDocumentEventIn(Schema):
    event: Literal["interview", "issued", "refused", "withdrawn"]
    on: Day | None = Field(None, description="date of the event (default today; the interview date for `interview`)")
    expires_on: Day | None = Field(None, description="the document's expiry date (required for `issued`)")
    reason: text(200) = Field("", description="the consulate's reason (`refused`) or why (`withdrawn`)")


class CountryRow(Document):
    country: str
    tier: str
    suggested_tier: str | None
    open_final_orders: int
    pending_requests: int
    median_days_to_issue: float | None
    refusal_rate: float | None
    pending_over_90_days: int
    quota_remaining: int | None
