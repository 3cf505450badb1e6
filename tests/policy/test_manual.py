"""The procedures manual: import, reading as of a date, diff, search (both backends), reviews, acknowledgments."""

import datetime as dt
import json
import shutil

import pytest
from typer.testing import CliRunner

from caseload.cli import app
from caseload.core import clock
from caseload.core.errors import Conflict, NotFound
from caseload.core.models import AuditEvent
from caseload.policy import manual
from caseload.policy.models import ManualAcknowledgment, ManualChapter, ManualSection, ManualSectionVersion
from caseload.policy.services import InvalidPolicyFile
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def sample(db):
    return manual.do_import_manual(manual.SAMPLE_DIR, actor_label="test")


def state() -> tuple:
    return (ManualChapter.objects.count(), list(ManualSection.objects.values_list("number", "owner")),
            list(ManualSectionVersion.objects.values_list("section__number", "version", "sha256")), AuditEvent.objects.count())


def write(directory, name: str, front: str, body: str = "Text of the section.\n") -> None:
    (directory / name).write_text(f"+++\n{front}+++\n{body}")


FRONT = """\
chapter = "9"
chapter_title = "Test chapter"
section = "9.1"
title = "Test section"
owner = "Test owner"
review_interval_days = 30
applies_to = ["non_detained"]
effective_from = 2020-01-01
"""


def test_import_of_the_sample_then_again_changes_nothing(sample):
    assert sample == {"files": 11, "versions_added": 11, "unchanged": 0, "chapters": 4, "sections": 7}
    before = state()
    assert manual.do_import_manual(manual.SAMPLE_DIR, actor_label="test") == {
        "files": 11, "versions_added": 0, "unchanged": 11, "chapters": 4, "sections": 7}
    assert state() == before
    assert AuditEvent.objects.filter(action="manual.version_added").count() == 11


def test_reading_the_manual_as_of_a_date(sample):
    first = manual.show_section("1.2", as_of=dt.date(2017, 5, 31))
    second = manual.show_section("1.2", as_of=dt.date(2017, 6, 1))
    assert (first["version"], first["effective_to"]) == (1, "2017-06-01")
    assert (second["version"], second["effective_to"], second["memo"]) == (
        2, None, "Sample memo 2017-03: records checks at every check-in")
    assert "when time allows" in first["body"] and "at every check-in the person attends" in second["body"]
    toc = manual.table_of_contents(as_of=dt.date(2016, 1, 1))
    assert [(c["chapter"], [s["section"] for s in c["sections"]]) for c in toc["chapters"]] == [("3", ["3.1"])]
    with pytest.raises(NotFound) as err:
        manual.show_section("1.1", as_of=dt.date(2016, 9, 30))
    assert err.value.code == "section_not_in_force"
    with pytest.raises(NotFound) as err:
        manual.show_section("1.3", as_of=dt.date(2019, 1, 1))
    assert err.value.code == "section_withdrawn"
    assert manual.show_section("1.3", as_of=dt.date(2018, 12, 31))["title"] == "Paper case files"


def test_diff_between_two_dates(sample):
    doc = manual.diff(start=dt.date(2017, 1, 1), end=dt.date(2019, 1, 1))
    assert [(c["section"], c["change"], c["from_version"], c["to_version"]) for c in doc["changes"]] == [
        ("1.2", "amended", 1, 2), ("1.3", "withdrawn", 1, None), ("2.2", "amended", 1, 2)]
    amended = doc["changes"][0]
    assert [a["memo"] for a in amended["amendments"]] == ["Sample memo 2017-03: records checks at every check-in"]
    assert "-3. A criminal-history records check should be run at check-ins when time allows.\n" in amended["diff"]
    assert "+4. A hit is referred to the supervisor the same day." in amended["diff"]
    added = manual.diff(start=dt.date(2016, 1, 1), end=dt.date(2016, 10, 1))
    assert [(c["section"], c["change"]) for c in added["changes"]] == [
        ("1.1", "added"), ("1.2", "added"), ("1.3", "added"), ("2.1", "added"), ("2.2", "added")]
    assert manual.diff(start=dt.date(2019, 1, 1), end=dt.date(2021, 11, 28))["changes"] == []
    one = manual.diff(start=dt.date(2017, 1, 1), end=dt.date(2022, 1, 1), section="3.1")
    assert [c["section"] for c in one["changes"]] == ["3.1"]


@pytest.mark.parametrize("query, day, expected", [
    ("records check", dt.date(2023, 1, 1), ["1.2"]),
    ("escalated headquarters", dt.date(2023, 1, 1), ["2.2"]),
    ("escalated headquarters", dt.date(2017, 8, 31), []),          # the amendment that added it is not yet in force
    ("certification", dt.date(2023, 1, 1), ["4.1"]),
    ("file room register", dt.date(2018, 1, 1), ["1.3"]),
    ("file room register", dt.date(2023, 1, 1), []),               # withdrawn in 2019
    ("consulates", dt.date(2023, 1, 1), ["2.1", "2.2"]),           # stemmed: consulate
])
def test_search_finds_sections_in_force_on_both_backends(sample, query, day, expected):
    doc = manual.search(query, as_of=day)
    assert sorted(r["section"] for r in doc["results"]) == expected
    for r in doc["results"]:
        assert manual.MARK in r["snippet"]


def test_search_refuses_an_empty_query(sample):
    with pytest.raises(Exception) as err:
        manual.search("  ?! ")
    assert err.value.code == "empty_query"


def test_refused_imports_leave_the_manual_unchanged(sample, tmp_path):
    before = state()
    write(tmp_path, "a.md", FRONT.replace('section = "9.1"', 'section = "8.1"').replace("review_interval_days = 30",
                                                                                          "review_interval_days = 0"))
    write(tmp_path, "b.md", FRONT.replace('applies_to = ["non_detained"]', 'applies_to = ["everyone"]'))
    (tmp_path / "c.md").write_text("no front matter\n")
    with pytest.raises(InvalidPolicyFile) as err:
        manual.do_import_manual(tmp_path, actor_label="test")
    assert sorted((p.file.rsplit("/", 1)[1], p.line, p.field) for p in err.value.problems) == [
        ("a.md", 4, "section"), ("a.md", 7, "review_interval_days"), ("b.md", 8, "applies_to"), ("c.md", 1, "")]
    assert state() == before


def test_an_amendment_needs_a_new_date_a_reason_and_cannot_backdate(sample, tmp_path):
    shutil.copy(manual.SAMPLE_DIR / "01-02-check-ins.md", tmp_path / "same-date.md")
    with open(tmp_path / "same-date.md", "a") as fh:
        fh.write("5. An extra line.\n")
    with pytest.raises(InvalidPolicyFile) as err:
        manual.do_import_manual(tmp_path, actor_label="test")
    assert "imported with different text; an amendment needs its own effective_from" in err.value.problems[0].message
    (tmp_path / "same-date.md").unlink()
    text = (manual.SAMPLE_DIR / "02-01-travel-documents.md").read_text()
    (tmp_path / "new.md").write_text(text.replace("effective_from = 2016-10-01", "effective_from = 2024-01-01")
                                     .replace('memo = "Sample manual, first issue"\n', "").split("reason =")[0]
                                     + "+++\nAmended text.\n")
    with pytest.raises(InvalidPolicyFile) as err:
        manual.do_import_manual(tmp_path, actor_label="test")
    assert err.value.problems[0].message == "an amendment of section 2.1 needs a reason or memo"
    (tmp_path / "new.md").write_text(text.replace("effective_from = 2016-10-01", "effective_from = 2015-01-01"))
    with pytest.raises(InvalidPolicyFile) as err:
        manual.do_import_manual(tmp_path, actor_label="test")
    assert "cannot take effect before it" in err.value.problems[0].message


def test_review_status_boundaries(db, tmp_path):
    write(tmp_path, "s.md", FRONT)
    manual.do_import_manual(tmp_path, actor_label="test")

    def overdue(day):
        return [(r["section"], r["days_overdue"]) for r in manual.review_status(as_of=day, overdue_only=True)["sections"]]

    assert overdue(dt.date(2020, 1, 31)) == []                 # due 2020-01-31 (effective + 30 days): not yet overdue
    assert overdue(dt.date(2020, 2, 1)) == [("9.1", 1)]
    with clock.frozen(dt.date(2020, 3, 1)):
        reviewed = manual.do_record_review(section="9.1", reviewed_on=dt.date(2020, 2, 15), note="still correct",
                                           actor_label="test")
    assert reviewed["review_due_on"] == "2020-03-16"
    assert overdue(dt.date(2020, 3, 16)) == [] and overdue(dt.date(2020, 3, 17)) == [("9.1", 1)]
    assert overdue(dt.date(2020, 2, 14)) == [("9.1", 14)]        # a later review does not count before its date


def test_acknowledgments_and_who_has_not(sample):
    nd = factories.officer("WAS", unit="non_detained", last_name="Abel")
    nd_other = factories.officer("ATL", unit="non_detained", last_name="Baker")
    detained = factories.officer("WAS", unit="detained", last_name="Cole")
    factories.officer("WAS", unit="non_detained", status="separated")
    with clock.frozen(dt.date(2023, 1, 1)):
        first = manual.do_acknowledge(officer_id=nd.pk, section="1.2", actor_label="test")
        again = manual.do_acknowledge(officer_id=nd.pk, section="1.2", actor_label="test")
        with pytest.raises(Conflict) as err:
            manual.do_acknowledge(officer_id=detained.pk, section="1.2", actor_label="test")
        assert err.value.code == "section_not_applicable"
        with pytest.raises(Conflict):
            manual.do_acknowledge(officer_id=nd.pk, section="1.3", actor_label="test")   # withdrawn
    assert (first["version"], first["created"], again["created"]) == (2, True, False)
    assert ManualAcknowledgment.objects.count() == 1
    report = manual.unacknowledged(office="WAS", section="1.2", as_of=dt.date(2023, 1, 1))
    assert report["sections"][0]["required"] == 1 and report["sections"][0]["missing"] == []
    national = manual.unacknowledged(section="1.2", as_of=dt.date(2023, 1, 1))
    assert [m["officer_id"] for m in national["sections"][0]["missing"]] == [nd_other.pk]
    before_amendment = manual.unacknowledged(section="1.2", as_of=dt.date(2017, 5, 1))  # version 1: nobody acknowledged
    assert before_amendment["sections"][0]["version"] == 1 and before_amendment["sections"][0]["acknowledged"] == 0
    by_section = {s["section"]: s for s in manual.unacknowledged(office="WAS", as_of=dt.date(2023, 1, 1))["sections"]}
    assert by_section["2.1"]["required"] == 2   # non-detained and detained officers
    assert "1.3" not in by_section             # withdrawn


def test_cli_manual_commands(sample):
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(app, ["manual", *args, "--format", "json"])
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    assert run("show", "2.2", "--as-of", "2017-01-01")["version"] == 1
    assert [c["section"] for c in run("diff", "--from", "2017-01-01", "--to", "2018-01-01")["changes"]] == ["1.2", "2.2"]
    assert [r["section"] for r in run("search", "records check")["results"]] == ["1.2"]
    assert [v["version"] for v in run("history", "1.2")["versions"]] == [1, 2]
    assert [s["section"] for s in run("overdue", "--as-of", "2017-01-01")["sections"]] == ["3.1"]  # 2015 + 180 days
    assert len(run("toc", "--as-of", "2023-01-01")["chapters"]) == 4
    bad = runner.invoke(app, ["manual", "import"])
    assert bad.exit_code == 2 and "give a DIRECTORY or --sample" in bad.stderr
