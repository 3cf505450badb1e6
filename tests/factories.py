"""Plain factories for hand-built test data (the ORM, never the generator)."""

from __future__ import annotations

import datetime as dt
import itertools

from caseload.docket.models import Case, Person
from caseload.offices.models import FieldOffice, Officer

_a_numbers = itertools.count(200_000_001)


def office(code: str = "WAS") -> FieldOffice:
    return FieldOffice.objects.get(code=code)


def officer(office_code: str = "WAS", **fields) -> Officer:
    defaults = {"first_name": "Ada", "last_name": "Officer"}
    return Officer.objects.create(office=office(office_code), **{**defaults, **fields})


def person(office_code: str = "WAS", **fields) -> Person:
    defaults = {
        "a_number": str(next(_a_numbers)),
        "first_name": "Test",
        "last_name": "Person",
        "birth_date": dt.date(1985, 3, 1),
        "citizenship_id": "MX",
        "office": office(office_code),
    }
    return Person.objects.create(**{**defaults, **fields})


def case(person_obj: Person | None = None, **fields) -> Case:
    p = person_obj or person()
    defaults = {
        "person": p,
        "office": p.office,
        "supervision_type": "recognizance",
        "stage": "pending",
        "proceedings_started_on": dt.date(2020, 1, 10),
        "stage_changed_on": dt.date(2020, 1, 10),
        "reporting_cadence_days": 180,
        "opened_on": dt.date(2020, 1, 10),
    }
    return Case.objects.create(**{**defaults, **fields})


def user(role: str, username: str | None = None, *, office_code: str | None = None, officer_obj: Officer | None = None,
         password: str = "a-long-test-password-7"):
    """A user in one role through the accounts service: an officer user linked to ``officer_obj``
    (created in ``office_code`` when not given), a supervisor to ``office_code`` (default WAS)."""
    from caseload.core.users import do_add_user

    if role == "officer" and officer_obj is None:
        officer_obj = officer(office_code or "WAS")
    account, _ = do_add_user(username=username or f"{role}-{Officer.objects.count()}-{office_code or ''}",
                             role=role, password=password,
                             officer_id=officer_obj.pk if role == "officer" else None,
                             office_code=(office_code or "WAS") if role == "supervisor" else None,
                             actor_label="test")
    return account
