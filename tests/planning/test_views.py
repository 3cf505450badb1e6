"""The planning pages: staffing with saved scenarios and comparison, workload, countries with the
escalation package, training with drill-down, the manual; roles and office scope."""

from __future__ import annotations

import re

import pytest

from caseload.core.models import AuditEvent
from caseload.planning import jobs
from caseload.planning.models import JobStatus, PlanningJob, StaffingScenario
from tests import factories

pytestmark = pytest.mark.django_db
PAGES = ("/planning/staffing/", "/planning/workload/", "/planning/countries/", "/planning/training/",
         "/planning/manual/", "/planning/countries/HT/")


def offices_in(html: str, marker: str) -> list[str]:
    table = html.split(marker, 1)[1].split("</table>", 1)[0]
    return re.findall(r'<tr><td class="text">(?:<a [^>]*>)?([A-Z]{3})(?:</a>)?</td>', table)


@pytest.fixture
def analyst(client):
    user = factories.user("hq_analyst", "plan-analyst")
    client.force_login(user)
    return user


def test_an_analyst_plans_saves_and_compares_scenarios(docket, client, analyst):
    from caseload.staffing.services import staffing_plan

    response = client.post("/planning/staffing/", {"action": "plan", "hires": "12", "weights": "measured"})
    job = PlanningJob.objects.get(owner=analyst)
    assert response.status_code == 302 and response["Location"] == f"/planning/staffing/?job={job.pk}"
    assert job.status == JobStatus.DONE
    expected = staffing_plan(hires=12)
    assert [(r["office"], r["hires"], r["fte_need"]) for r in job.result["offices"]] == \
        [(r["office"], r["hires"], r["fte_need"]) for r in expected["offices"]]
    page = client.get(response["Location"]).content.decode()
    assert "Hires (proportional)" in page and page.count("<svg") == 2
    assert len(offices_in(page, "Hires (optimal)")) == len(expected["offices"])

    saved = client.post("/planning/staffing/", {"action": "save", "job": job.pk, "name": "Twelve"})
    assert saved.status_code == 302
    client.post("/planning/staffing/", {"action": "plan", "hires": "40", "max_hires_per_office": "5"})
    second = PlanningJob.objects.filter(owner=analyst).latest("id")
    client.post("/planning/staffing/", {"action": "save", "job": second.pk, "name": "Forty"})
    a, b = StaffingScenario.objects.get(name="Twelve"), StaffingScenario.objects.get(name="Forty")
    assert a.owner == analyst and a.inputs["hires"] == 12 and b.inputs["max_hires_per_office"] == 5
    assert max(r["hires"] for r in b.outputs["offices"]) <= 5
    assert AuditEvent.objects.filter(action="planning.scenario_saved").count() == 2

    compared = client.get(f"/planning/staffing/?a={a.pk}&b={b.pk}").content.decode()
    assert "Twelve against Forty" in compared
    assert f"<td class=\"text\">Hires</td><td>{a.outputs['national']['hires']}</td><td>{b.outputs['national']['hires']}</td>" in compared

    duplicate = client.post("/planning/staffing/", {"action": "save", "job": job.pk, "name": "Twelve"})
    assert duplicate.status_code == 409 and StaffingScenario.objects.count() == 2


def test_bad_inputs_are_refused_without_starting_anything(docket, client, analyst):
    for data in ({"hires": "-1"}, {"hires": "ten"}, {"weights": "guessed"}, {"budget": "lots"},
                 {"limits": "[offices.WAS\nmax_hires = 2"}, {"limits": "[offices.ZZZ]\nmax_hires = 2"},
                 {"limits": "[offices.WAS]\nmax_hires = -2"}, {"limits": "[offices.WAS]\ncost = 0"},
                 {"limits": "[offices.WAS]\nhires = 2"}):
        response = client.post("/planning/staffing/", {"action": "plan", **data})
        assert response.status_code == 400, data
    assert PlanningJob.objects.count() == 0


def test_office_limits_and_a_budget_reach_the_plan(docket, client, analyst):
    response = client.post("/planning/staffing/", {"action": "plan", "hires": "20", "budget": "4",
                                                   "limits": "[offices.was]\nmax_hires = 0\ncost = 2"})
    job = PlanningJob.objects.get(owner=analyst)
    assert response.status_code == 302 and job.status == JobStatus.DONE
    assert job.inputs["limits"] == {"WAS": {"max_hires": 0, "cost": 2}} and job.inputs["budget"] == 4.0
    assert next(r["hires"] for r in job.result["offices"] if r["office"] == "WAS") == 0
    assert job.result["national"]["hires"] <= 4


def test_scenarios_belong_to_their_creator(docket, client, analyst):
    client.post("/planning/staffing/", {"action": "plan", "hires": "3"})
    job = PlanningJob.objects.get(owner=analyst)
    client.post("/planning/staffing/", {"action": "save", "job": job.pk, "name": "Mine"})
    mine = StaffingScenario.objects.get()
    other = factories.user("hq_analyst", "plan-analyst-2")
    client.force_login(other)
    assert "Mine" not in client.get("/planning/staffing/").content.decode()
    assert client.get(f"/planning/staffing/?a={mine.pk}&b={mine.pk}").status_code == 404
    # another user's job can be neither seen nor saved
    assert client.post("/planning/staffing/", {"action": "save", "job": job.pk, "name": "Taken"}).status_code == 400
    client.force_login(factories.user("auditor", "plan-auditor"))
    assert "Mine" in client.get("/planning/staffing/").content.decode()
    client.post("/planning/staffing/", {"action": "plan", "hires": "3"})
    auditor_job = PlanningJob.objects.latest("id")
    assert client.post("/planning/staffing/", {"action": "save", "job": auditor_job.pk, "name": "Audit"}).status_code == 403
    assert StaffingScenario.objects.count() == 1


def test_a_supervisor_sees_their_office_rows_and_officers_are_refused(docket, client):
    client.force_login(factories.user("supervisor", "plan-sup", office_code="WAS"))
    response = client.post("/planning/staffing/", {"action": "plan", "hires": "6"})
    page = client.get(response["Location"]).content.decode()
    assert offices_in(page, "Hires (optimal)") == ["WAS"] and "Save as scenario" not in page
    assert offices_in(client.get("/planning/training/").content.decode(), "Never trained") == ["WAS"]
    assert client.get("/planning/training/?office=BOS").status_code == 404
    assert client.get("/planning/manual/?office=BOS").status_code == 404
    client.force_login(factories.user("officer", "plan-officer"))
    for url in PAGES:
        assert client.get(url).status_code == 403, url


def test_countries_show_names_separators_and_why_a_suggestion_is_held_back(docket, client, analyst):
    from caseload.countries.services import report

    rows = report()
    html = client.get("/planning/countries/").content.decode()
    top = rows[0]
    assert f"({top['country']})</td>" in html and f"<td>{top['open_final_orders']:,}</td>" in html
    if any(r["suggested_tier"] is None for r in rows):
        assert "too little evidence" in html


def test_the_escalation_package_lists_only_the_supervisors_office_cases(docket, client):
    from caseload.countries.escalation import escalation_package
    from caseload.countries.models import Country

    code = max(Country.objects.all(), key=lambda c: len(escalation_package(country=c)["cases"])).code
    full = escalation_package(country=Country.objects.get(code=code))
    client.force_login(factories.user("supervisor", "pkg-sup", office_code="WAS"))
    before = AuditEvent.objects.filter(action="case.list").count()
    html = client.get(f"/planning/countries/{code}/").content.decode()
    listed = re.findall(r"<td>(A\d{3}-\d{3}-\d{3})</td><td>([A-Z]{3})</td>", html)
    assert {office for _, office in listed} <= {"WAS"}
    assert len(listed) == sum(1 for c in full["cases"] if c["office"] == "WAS")
    assert f"<tr><th>Open final-order cases</th><td>{full['counts']['open_final_orders']}</td></tr>" in html
    assert AuditEvent.objects.filter(action="case.list").count() == before + 1


def test_workload_page_shows_weights_with_intervals(docket, client, analyst):
    from caseload.staffing.services import latest_weight_set

    html = client.get("/planning/workload/").content.decode()
    ws = latest_weight_set("measured")
    assert ws is not None and "<svg" in html and f"set {ws.pk}" in html
    assert html.count('<tr><td class="text">') >= ws.weights.count()
    assert PlanningJob.objects.filter(kind="workload").count() == 1
    client.get("/planning/workload/")
    assert PlanningJob.objects.filter(kind="workload").count() == 1  # reused, not recomputed


def test_a_job_left_running_by_a_lost_process_is_reported_failed(docket, analyst):
    import datetime as dt

    from caseload.core import clock

    job = PlanningJob.objects.create(kind="workload", owner=analyst, inputs={},
                                     started_at=clock.now() - dt.timedelta(seconds=jobs.STALE_SECONDS + 1))
    assert jobs.access_job(job.pk, analyst).status == JobStatus.FAILED
    assert jobs.access_job(job.pk, factories.user("hq_analyst", "someone-else")) is None


def test_starting_a_job_deletes_the_owners_finished_jobs_older_than_a_week(docket, analyst):
    import datetime as dt

    from caseload.core import clock

    old = clock.now() - dt.timedelta(days=jobs.KEEP_DAYS, seconds=1)
    other = factories.user("hq_analyst", "keeps-own-jobs")
    mine = PlanningJob.objects.create(kind="workload", owner=analyst, inputs={}, status=JobStatus.DONE, started_at=old)
    theirs = PlanningJob.objects.create(kind="workload", owner=other, inputs={}, status=JobStatus.DONE, started_at=old)
    recent = PlanningJob.objects.create(kind="workload", owner=analyst, inputs={}, status=JobStatus.DONE,
                                        started_at=clock.now() - dt.timedelta(days=1))
    new = jobs.start("staffing", owner=analyst, inputs={"hires": 0, "weights": "measured", "max_hires_per_office": None,
                                                        "limits": None, "budget": None})
    assert new.status == JobStatus.DONE
    assert set(PlanningJob.objects.values_list("pk", flat=True)) == {theirs.pk, recent.pk, new.pk}
    assert not PlanningJob.objects.filter(pk=mine.pk).exists()
