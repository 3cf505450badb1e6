"""A small docket for the forecast: two offices, three countries of different tiers, weights stored."""

from __future__ import annotations

import datetime as dt

import pytest

from caseload.core import clock
from tests import factories

TODAY = dt.date(2026, 6, 15)
WEIGHTS = {"recognizance/pending/unclassified": 10.0, "recognizance/appeal/unclassified": 12.0,
           "recognizance/final_order/unclassified": 20.0, "osup/final_order/unclassified": 30.0}


@pytest.fixture
def today():
    with clock.frozen(TODAY):
        yield TODAY


def add_cases(office: str, citizenship: str, stage: str, n: int, *, opened_on: dt.date = dt.date(2020, 1, 10),
              supervision: str = "recognizance") -> None:
    for _ in range(n):
        person = factories.person(office, citizenship_id=citizenship)
        fields = {"stage": stage, "supervision_type": supervision, "opened_on": opened_on,
                  "proceedings_started_on": min(opened_on, dt.date(2020, 1, 10)), "stage_changed_on": opened_on}
        if stage == "final_order":
            fields["final_order_date"] = dt.date(2021, 3, 1) if opened_on < dt.date(2021, 3, 1) else opened_on
        if stage == "appeal":
            fields.update(appeal_pending=True, appeal_filed_on=dt.date(2021, 2, 1) if opened_on < dt.date(2021, 2, 1) else opened_on)
        factories.case(person, **fields)


@pytest.fixture
def docket(db, today):
    """WAS: 30 pending (MX), 6 appeal (MX), 10 final orders (CN, restricted), 12 pending opened in
    the last year; ATL: 20 pending (GT), 8 final orders (CU, uncooperative, on OSUP).
    Officers: 3 in WAS, 2 in ATL. Measured weights by supervision type / stage / priority."""
    from caseload.staffing.services import do_save_weight_set

    add_cases("WAS", "MX", "pending", 30)
    add_cases("WAS", "MX", "appeal", 6)
    add_cases("WAS", "CN", "final_order", 10)
    add_cases("WAS", "MX", "pending", 12, opened_on=dt.date(2026, 3, 1))
    add_cases("ATL", "GT", "pending", 20)
    add_cases("ATL", "CU", "final_order", 8, supervision="osup")
    for _ in range(3):
        factories.officer("WAS")
    for _ in range(2):
        factories.officer("ATL")
    do_save_weight_set(kind="measured", name="test weights", group_by=("supervision_type", "stage", "priority"),
                       weights=[{"case_type": k, "minutes_per_case_month": v} for k, v in WEIGHTS.items()],
                       provenance="test", actor_label="test", collateral=0.0)
    return TODAY
