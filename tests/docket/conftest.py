"""Fixtures of the docket tests: a frozen clock, an officer, a supervisor, hand-built cases."""

import datetime as dt

import pytest

from caseload.core import clock
from tests import factories

TODAY = dt.date(2026, 6, 1)


@pytest.fixture
def today():
    """Freeze the clock at TODAY, 10:00 UTC."""
    with clock.frozen(dt.datetime.combine(TODAY, dt.time(10), tzinfo=dt.UTC)):
        yield TODAY


@pytest.fixture
def officer(db):
    return factories.officer("WAS")


@pytest.fixture
def supervisor(db):
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user("sup.was", password="x")
    user.groups.add(Group.objects.get(name="supervisor"))
    return user


@pytest.fixture
def plain_user(db):
    from django.contrib.auth.models import User

    return User.objects.create_user("clerk.was", password="x")


def make_case(officer=None, person=None, **fields):
    """A case read back as the services read it (person and office loaded)."""
    from caseload.docket.lifecycle import access_case

    p = factories.person(**(person or {}))
    defaults = {"officer": officer, "next_report_due": TODAY + dt.timedelta(days=30), "last_contact_on": TODAY - dt.timedelta(days=5)}
    return access_case(factories.case(p, **{**defaults, **fields}).pk)


def final_order_case(officer=None, person=None, **fields):
    return make_case(officer, person, stage="final_order", final_order_date=dt.date(2026, 1, 5), **fields)
