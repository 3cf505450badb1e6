"""Builders for countries tests: final-order cases and travel-document histories."""

from __future__ import annotations

import datetime as dt

from caseload.countries.models import TravelDocumentRequest
from tests import factories

TODAY = dt.date(2026, 6, 1)
ACTOR = "test"


def final_order_case(country: str = "HT", *, office: str = "WAS", final_order_date: dt.date = dt.date(2026, 1, 10),
                     person: dict | None = None, **fields):
    p = factories.person(office, citizenship_id=country, **(person or {}))
    return factories.case(p, stage="final_order", final_order_date=final_order_date, supervision_type="osup", **fields)


def history(case, *, requested_on: dt.date, status: str = "requested", decided_on: dt.date | None = None,
            expires_on: dt.date | None = None, reason: str = "", country: str | None = None, closed_on=None):
    """A request as it would stand after earlier steps (test fixture for dated histories)."""
    return TravelDocumentRequest.objects.create(
        case=case, office_id=case.office_id, country_id=country or case.person.citizenship_id, requested_on=requested_on,
        status=status, decided_on=decided_on, expires_on=expires_on, refusal_reason=reason, closed_on=closed_on)


def days_ago(n: int, today: dt.date = TODAY) -> dt.date:
    return today - dt.timedelta(days=n)
