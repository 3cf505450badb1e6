"""The forecast page: roles and scope, a background run (inline in tests), fan charts, uploads."""

from __future__ import annotations

import pytest

from caseload.forecast import jobs
from tests import factories


@pytest.fixture(autouse=True)
def inline_jobs(monkeypatch):
    monkeypatch.setattr(jobs, "RUN_INLINE", True)
    monkeypatch.setattr(jobs, "_jobs", {})


def signed_in(client, role: str, office: str | None = None):
    client.force_login(factories.user(role, f"fc-{role}-{office or ''}", office_code=office))
    return client


def run(client, **fields):
    data = {"scenario_a": "baseline", "scenario_b": "none", "months": "12", "reps": "100", **fields}
    response = client.post("/planning/forecast/", data)
    assert response.status_code == 302, response.content[:2000]
    return response["Location"]


def test_an_analyst_runs_the_national_forecast_and_sees_three_fan_charts(client, docket):
    signed_in(client, "hq_analyst")
    page = client.get("/planning/forecast/")
    assert page.status_code == 200 and b'name="scenario_a"' in page.content and b"No run in progress" in page.content
    location = run(client)
    assert location.startswith("/planning/forecast/?job=")
    (job,) = jobs._jobs.values()
    assert job.status == "done" and job.done_reps == 100 and len(job.results) == 1
    result = client.get(location)
    html = result.content.decode()
    assert result.status_code == 200 and "Backlog forecast: national" in html
    assert html.count("<svg") == 3 and all(t in html for t in ("Open cases, national", "Cases per officer, national",
                                                                "Capacity %, national"))
    last = job.results[0]["national"][-1]["open_cases"]
    assert f"month 12 median {last['p50']}" in html
    office = client.get(location + "&office=WAS").content.decode()
    assert "Open cases, WAS" in office and "Backlog forecast: Washington" in office


def test_two_scenarios_side_by_side(client, docket):
    from caseload.policy.services import do_load_shipped

    do_load_shipped(actor_label="test")
    signed_in(client, "auditor")
    html = client.get(run(client, scenario_b="example")).content.decode()
    assert html.count("<svg") == 6
    assert "Today&#x27;s docket and rates, no hires, no changes" in html
    assert "Sixty hires over two years" in html


def test_a_supervisor_sees_their_own_office_only(client, docket):
    signed_in(client, "supervisor", "WAS")
    page = client.get("/planning/forecast/")
    assert page.status_code == 200 and b"(WAS)" in page.content and b'id="office-choice"' not in page.content
    html = client.get(run(client, office="WAS")).content.decode()
    assert "Open cases, WAS" in html and "national" not in html.split("<h1>")[1].split("</h1>")[0]
    assert client.get("/planning/forecast/?office=ATL").status_code == 404


def test_an_officer_is_refused(client, docket):
    signed_in(client, "officer", "WAS")
    assert client.get("/planning/forecast/").status_code == 403
    assert client.post("/planning/forecast/", {"scenario_a": "baseline"}).status_code == 403
    assert jobs._jobs == {}


def test_an_invalid_upload_lists_every_problem_and_starts_nothing(client, docket):
    from django.core.files.uploadedfile import SimpleUploadedFile

    signed_in(client, "hq_analyst")
    bad = SimpleUploadedFile("bad.toml", b'id = "x"\ntitle = "t"\n[[hires]]\noffice = "ZZZ"\nmonth = 1\ncount = -1\n')
    response = client.post("/planning/forecast/", {"scenario_a": "upload", "file_a": bad, "scenario_b": "none",
                                                   "months": "12", "reps": "100"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "bad.toml:4: hires[0].office: unknown field office &#x27;ZZZ&#x27;" in html
    assert "bad.toml:6: hires[0].count: must be a whole number from 0 to 10000, got -1" in html
    assert jobs._jobs == {}


def test_a_running_job_reloads_without_javascript_and_the_fragment_asks_htmx_to_reload_when_done(client, docket):
    user = factories.user("hq_analyst", "fc-poll")
    client.force_login(user)
    job = jobs.Job(id="j1", owner=user.pk, scenarios=[{"label": "x"}], months=12, reps=100, seed=1, done_reps=40)
    jobs._jobs["j1"] = job
    html = client.get("/planning/forecast/?job=j1").content.decode()
    assert '<meta http-equiv="refresh" content="2">' in html and "40 of 100 repetitions (40 %)" in html
    assert 'hx-trigger="every 1s"' in html
    assert "HX-Refresh" not in client.get("/planning/forecast/status/?job=j1", HTTP_HX_REQUEST="true")
    job.status = "done"
    done = client.get("/planning/forecast/status/?job=j1", HTTP_HX_REQUEST="true")
    assert done.status_code == 200 and done["HX-Refresh"] == "true"
    # another user's run is not theirs to see
    client.force_login(factories.user("hq_analyst", "fc-other"))
    assert b"No run in progress" in client.get("/planning/forecast/status/?job=j1").content
