"""`caseload report build` and /reports/management/: the PDF states the same key figures as the
snapshot JSON of the same date; an office's report holds that office's rows only."""

from __future__ import annotations

import io
import json
import re

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from caseload.cli import app
from caseload.core import clock
from tests import factories

pytestmark = pytest.mark.django_db
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def pdf_text(data: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages)


def key_figure(text: str, label: str) -> str:
    found = re.search(re.escape(label) + r": ([0-9,.]+)", text)
    assert found, f"{label!r} not in the report"
    return found.group(1)


def test_the_pdf_states_the_figures_of_the_snapshot_json_of_its_date(docket, tmp_path):
    out = tmp_path / "report.pdf"
    built = run("report", "build", "--format", "pdf", "--out", str(out))
    assert built.exit_code == 0, built.output
    snap = json.loads(run("snapshot", "take", "--as-of", clock.today().isoformat(), "--format", "json").stdout)["figures"]
    text = pdf_text(out.read_bytes())
    assert out.read_bytes().startswith(b"%PDF-")
    assert f"As of {clock.today().isoformat()}, national" in text
    assert key_figure(text, "Open non-detained cases") == f"{snap['docket']['cases']:,}"
    assert key_figure(text, "Docket officers") == f"{snap['docket']['officers']:,}"
    assert key_figure(text, "Cases per officer") == f"{snap['docket']['cases_per_officer']:,.1f}"
    assert key_figure(text, "Final orders") == f"{snap['docket']['final_orders']:,}"
    assert key_figure(text, "Overdue tasks") == f"{snap['overdue']['total']:,}"
    assert key_figure(text, "Unassigned cases") == f"{snap['unassigned_cases']:,}"
    assert key_figure(text, "Stale national-security cases") == f"{snap['stale_national_security']:,}"
    assert key_figure(text, "Manual sections overdue for review") == f"{snap['manual']['overdue_for_review']:,}"
    assert key_figure(text, "Pending travel-document requests") == f"{snap['countries']['pending_total']:,}"
    training = snap["training"]
    assert f"Officers current in required training: {training['current'] + training['expiring']:,} of {training['officers']:,}" in text
    for section in ("1. The docket", "2. Lost cases", "3. Workload and staffing", "4. Policy", "5. Training", "Certifications",
                    "6. Countries"):
        assert section in text
    assert f"caseload overdue --as-of {clock.today().isoformat()} --format json" in text  # a figure's footnote


def test_an_office_report_holds_that_office_only_and_an_unknown_office_writes_nothing(docket, tmp_path):
    out = tmp_path / "was.html"
    assert run("report", "build", "--format", "html", "--office", "was", "--out", str(out)).exit_code == 0
    html = out.read_text()
    body = html.split('id="docket"', 1)[1].split("</table>", 1)[0]
    assert re.findall(r'<td class="text">([A-Z]{3})</td>', body) == ["WAS"]
    assert "<svg" in html and "<script" not in html
    missing = tmp_path / "none.pdf"
    result = run("report", "build", "--office", "ZZZ", "--out", str(missing))
    assert result.exit_code == 2 and not missing.exists()


def test_the_page_scopes_a_supervisor_to_their_office_and_refuses_officers(docket, client):
    supervisor = factories.user("supervisor", "report-sup", office_code="WAS")
    client.force_login(supervisor)
    page = client.get("/reports/management/")
    html = page.content.decode()
    assert page.status_code == 200 and "Management report: WAS" in html
    body = html.split('id="docket"', 1)[1].split("</table>", 1)[0]
    assert re.findall(r'<td class="text">([A-Z]{3})</td>', body) == ["WAS"]
    assert client.get("/reports/management/?office=BOS").status_code == 404
    pdf = client.get("/reports/management/?format=pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert "Management report: WAS" in pdf_text(pdf.content)
    assert client.get("/reports/management/?as_of=2026-02-30").status_code == 400
    client.force_login(factories.user("officer", "report-officer"))
    assert client.get("/reports/management/").status_code == 403


def test_an_analyst_reads_the_national_report_and_any_office(docket, client):
    client.force_login(factories.user("hq_analyst", "report-analyst"))
    national = client.get("/reports/management/").content.decode()
    assert "Management report</h1>" in national and 'value="BOS"' in national
    assert "Management report: BOS" in client.get("/reports/management/?office=BOS").content.decode()


def test_the_trend_comes_from_the_snapshots_and_an_earlier_date_omits_present_only_figures(docket, tmp_path):
    from caseload.reports.models import Snapshot

    assert run("snapshot", "take", "--history").exit_code == 0
    today = clock.today()
    out = tmp_path / "today.html"
    run("report", "build", "--format", "html", "--out", str(out))
    html = out.read_text()
    assert f"Snapshots up to {today}" in html and "Fewer than two snapshots" not in html
    earlier = Snapshot.objects.exclude(as_of=today).order_by("-as_of").first().as_of
    past = tmp_path / "past.html"
    run("report", "build", "--format", "html", "--as-of", earlier.isoformat(), "--out", str(past))
    text = past.read_text()
    assert f"As of <strong>{earlier}</strong>" in text and f"not stated for {earlier}" in text
    assert "Overdue tasks:" not in text.split('id="docket"')[0]
