"""The manual and rule-set pages: sign-in required, reading as of a date, search, diff."""

import pytest
from django.contrib.auth.models import User

from caseload.policy import manual
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client):
    client.force_login(factories.user("hq_analyst", "reader"))
    return client


@pytest.fixture
def sample(db):
    manual.do_import_manual(manual.SAMPLE_DIR, actor_label="test")


@pytest.mark.parametrize("url", ["/policy/", "/policy/manual/", "/policy/manual/1.2/", "/policy/manual/diff/"])
def test_pages_need_a_signed_in_user(client, url):
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_manual_as_of_a_date_with_search(signed_in, sample):
    html = signed_in.get("/policy/manual/", {"as_of": "2016-01-01"}).content.decode()
    assert "3.1 Applying the priority rule set in force" in html and "1.2 Check-ins" not in html
    found = signed_in.get("/policy/manual/", {"q": "records check", "as_of": "2023-01-01"}).content.decode()
    results = found[found.index('id="results"'):found.index('id="toc"')]
    assert "1.2 Check-ins" in results and "<mark>" in results and "2.1" not in results  # snippets differ by backend
    assert signed_in.get("/policy/manual/", {"as_of": "1 May"}).status_code == 400


def test_section_page_shows_the_version_in_force_and_its_history(signed_in, sample):
    old = signed_in.get("/policy/manual/1.2/", {"as_of": "2017-05-31"}).content.decode()
    new = signed_in.get("/policy/manual/1.2/", {"as_of": "2017-06-01"}).content.decode()
    assert "when time allows" in old and "version 1" in old and "until 2017-06-01" in old
    assert "at every check-in the person attends" in new and "Sample memo 2017-03" in new
    withdrawn = signed_in.get("/policy/manual/1.3/", {"as_of": "2020-01-01"})
    assert withdrawn.status_code == 200 and "was withdrawn on 2019-01-01" in withdrawn.content.decode()
    assert signed_in.get("/policy/manual/7.7/").status_code == 404


def test_diff_page(signed_in, sample):
    html = signed_in.get("/policy/manual/diff/", {"from": "2017-01-01", "to": "2019-01-01"}).content.decode()
    assert [s.split('"')[0] for s in html.split('data-section="')[1:]] == ["1.2", "1.3", "2.2"]
    assert '<span class="add">+4. A hit is referred to the supervisor the same day.' in html
    assert signed_in.get("/policy/manual/diff/", {"from": "2019-01-01", "to": "2017-01-01"}).status_code == 400


def test_rule_set_page_marks_the_set_in_force(signed_in, shipped):
    from caseload.core import clock

    with clock.frozen(__import__("datetime").date(2018, 1, 1)):
        html = signed_in.get("/policy/").content.decode()
    assert "eo-13768 (in force)" in html and "pep-2014 (in force)" not in html and "reporting-2017" in html
