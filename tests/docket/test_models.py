import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from caseload.docket import anumber
from caseload.docket.models import Person, validate_country_code
from tests import factories


@pytest.mark.parametrize("raw, stored", [
    ("A123-456-789", "123456789"),
    ("a123456789", "123456789"),
    ("123456789", "123456789"),
    (" A 123-456-789 ", "123456789"),
    ("A12345678", "012345678"),   # eight-digit A-numbers carry a leading zero
])
def test_a_number_spellings_normalise(raw, stored):
    assert anumber.normalize(raw) == stored


@pytest.mark.parametrize("raw", ["", "A1234567", "A1234567890", "B123456789", "A123-45-6789", "A000-000-000", "12345678x"])
def test_bad_a_numbers_are_refused(raw):
    with pytest.raises(ValidationError):
        anumber.normalize(raw)


def test_a_number_display():
    assert anumber.display("012345678") == "A012-345-678"


@pytest.mark.django_db
def test_stored_a_number_is_validated_by_the_model():
    p = factories.person()
    p.a_number = "12345"
    with pytest.raises(ValidationError) as err:
        p.full_clean()
    assert "a_number" in err.value.message_dict


@pytest.mark.django_db
def test_a_number_is_unique():
    factories.person(a_number="300000001")
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.person(a_number="300000001")
    assert Person.objects.filter(a_number="300000001").count() == 1


def test_citizenship_must_be_iso_3166():
    validate_country_code("GT")
    with pytest.raises(ValidationError):
        validate_country_code("XX")


@pytest.mark.django_db
@pytest.mark.parametrize("fields", [
    {"stage": "final_order"},                                           # final order without its date
    {"stage": "removed"},
    {"stage": "pending", "final_order_date": dt.date(2021, 1, 1)},      # date before any order
    {"stage": "appeal", "appeal_pending": False, "appeal_filed_on": dt.date(2021, 1, 1)},
    {"stage": "appeal", "appeal_pending": True},                        # appeal without its filing date
    {"stage": "final_order", "final_order_date": dt.date(2019, 1, 1)},  # order before proceedings began
    {"status": "closed"},                                               # closed without date and reason
    {"status": "open", "closed_on": dt.date(2022, 1, 1)},
    {"reporting_cadence_days": 0},
], ids=lambda f: ",".join(f"{k}={v}" for k, v in f.items()))
def test_stage_and_date_consistency_is_enforced(fields):
    p = factories.person()
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.case(p, **fields)
    assert not p.cases.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("fields", [
    {"stage": "final_order", "final_order_date": dt.date(2021, 5, 1)},
    {"stage": "appeal", "appeal_pending": True, "appeal_filed_on": dt.date(2021, 1, 1)},
    {"status": "closed", "closed_on": dt.date(2022, 1, 1), "close_reason": "removed to country of citizenship"},
])
def test_consistent_cases_are_accepted(fields):
    c = factories.case(**fields)
    assert c.pk and c.version == 1


@pytest.mark.django_db
def test_conviction_custody_cannot_exceed_sentence():
    from caseload.docket.models import Conviction

    p = factories.person()
    common = dict(person=p, office=p.office, convicted_on=dt.date(2015, 1, 1), offense_category="dui",
                  severity="misdemeanor", incident_id="1")
    Conviction.objects.create(sentence_days=90, custody_days=30, **common)
    with pytest.raises(IntegrityError), transaction.atomic():
        Conviction.objects.create(sentence_days=30, custody_days=90, **common)
    with pytest.raises(IntegrityError), transaction.atomic():
        Conviction.objects.create(sentence_days=0, custody_days=0, aggravated_felony=True, **common)
    assert p.convictions.count() == 1
