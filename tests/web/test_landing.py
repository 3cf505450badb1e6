import re

import pytest

from caseload.docket.services import summary
from caseload.ingest.generate import generate_docket
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def analyst(client):
    client.force_login(factories.user("hq_analyst", "analyst"))
    return client


def test_landing_needs_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=/"


def test_landing_on_an_empty_database_says_how_to_start(client, analyst):
    response = client.get("/")
    assert response.status_code == 200
    assert b"holds no docket yet" in response.content


def test_landing_shows_the_headline_figures_and_a_server_rendered_chart(client, analyst, django_assert_max_num_queries):
    generate_docket(scale=0.001, seed=2, weights_path=None)
    figures = summary()
    with django_assert_max_num_queries(12):
        response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    for key in ("cases", "people", "officers", "convicted", "final_orders"):
        shown = re.search(rf'data-figure="{key}">([\d,]+)<', html).group(1)
        assert int(shown.replace(",", "")) == figures[key]
    assert html.count("<svg") == 1 and "cases per officer" in html
    table = html[html.index('id="by-office"'):]
    assert all(f">{row['office']}<" in table for row in figures["by_office"])
