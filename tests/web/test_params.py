"""Date and number parameters of pages are bounded: a bad value is a 400 page, never a 500."""

import pytest

from caseload.policy import manual
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", [
    "/policy/manual/diff/?to=0001-01-01",
    "/policy/manual/diff/?from=9999-12-31",
    "/policy/manual/?as_of=0001-01-01",
    "/policy/manual/1.2/?as_of=10000-01-01",
    "/training/?as_of=0001-01-01",
    "/audit/?from=0001-01-01",
    "/audit/?to=tomorrow",
    "/audit/?before=-5",
    "/audit/?before=99999999999999999999999",
    "/audit/who-read/?a_number=A12",
])
def test_out_of_range_parameters_are_a_bad_request(client, url):
    manual.do_import_manual(manual.SAMPLE_DIR, actor_label="test")
    client.force_login(factories.user("auditor", "inspector"))
    response = client.get(url)
    assert response.status_code == 400, (url, response.status_code)
    assert b'aria-label="Main"' in response.content


def test_dates_at_the_bounds_are_accepted(client):
    manual.do_import_manual(manual.SAMPLE_DIR, actor_label="test")
    client.force_login(factories.user("auditor", "inspector"))
    assert client.get("/policy/manual/diff/?from=1900-01-01&to=2999-12-31").status_code == 200
    assert client.get("/audit/?from=1900-01-01&to=2999-12-31").status_code == 200
