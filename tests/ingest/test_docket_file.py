"""The agency's docket file: export → import → export round trip, re-import, conflicts, dry run,
refused files, rejected rows, officers by external id, and crash safety (killed, then run again)."""

import csv
import datetime as dt
import gzip
import io
import json
from pathlib import Path

import pytest
from django.db import connection

from caseload.core import clock
from caseload.core.errors import UsageError
from caseload.core.models import AuditEvent
from caseload.docket.models import Case, Conviction, Person
from caseload.docket.services import summary
from caseload.ingest import docket_file
from caseload.ingest.generate import clear_generated_data, generate_docket
from caseload.offices import services as officers
from caseload.offices.models import Officer
from tests.processes import caseload, ok

AS_OF = dt.date(2026, 6, 30)


@pytest.fixture
def today():
    with clock.frozen(dt.datetime.combine(AS_OF, dt.time(12), tzinfo=dt.UTC)):
        yield AS_OF


def row(n: int, **overrides) -> dict:
    """One valid docket row; ``n`` picks the A-number."""
    base = dict.fromkeys(docket_file.HEADER, "")
    base.update(a_number=f"A{300_000_000 + n}", family_name="Okafor", given_name="Ada",
                birth_date="1980-01-02", gender="F", citizenship="NG", entry_manner="visa", national_security="false",
                gang="false", citizenship_claim="none", pending_criminal_charges="0", visa_fraud_finding="false",
                public_benefits_abuse="false", office="SPM", unit="non_detained", supervision_type="recognizance",
                stage="pending", opened_on="2024-03-01", appeal_pending="false", reporting_cadence_days="90")
    base.update(overrides)
    return base


def write(path: Path, rows: list[dict], header=docket_file.HEADER) -> Path:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    data = buf.getvalue().encode()
    path.write_bytes(gzip.compress(data, mtime=0) if path.name.endswith(".gz") else data)
    return path


def load(path: Path, **kwargs):
    return docket_file.do_import_docket(docket_file.inspect(path), actor_label="test", **kwargs)


def db_counts():
    return Person.objects.count(), Case.objects.count(), Conviction.objects.count(), AuditEvent.objects.count()


@pytest.mark.django_db
def test_round_trip_export_import_export_identical(tmp_path, today):
    generate_docket(scale=0.001, seed=5, as_of=AS_OF, weights_path=None)
    for o in Officer.objects.all():
        Officer.objects.filter(pk=o.pk).update(external_id=f"DO-{o.pk}")
    first = docket_file.export_docket(tmp_path / "a.csv.gz", convictions_out=tmp_path / "a_conv.csv", actor_label="test")
    before = summary()
    staff = list(Officer.objects.order_by("id").values_list("first_name", "last_name", "office__code", "unit", "external_id"))
    assert first["rows"] == before["cases"] == 2_200 and first["convictions"] > 0

    if connection.vendor == "postgresql":  # let the test transaction's deferred checks run before TRUNCATE
        with connection.cursor() as cur:
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
    clear_generated_data()
    assert db_counts()[:3] == (0, 0, 0)
    for first_name, last_name, office, unit, ext in staff:
        officers.do_add_officer(name=f"{first_name} {last_name}", office=office, unit=unit, external_id=ext, actor_label="t")
    result = docket_file.do_import_docket(docket_file.inspect(tmp_path / "a.csv.gz"),
                                          convictions=docket_file.inspect(tmp_path / "a_conv.csv",
                                                                          header=docket_file.CONVICTION_HEADER,
                                                                          required=["a_number"]), actor_label="test")
    assert (result.rows, result.imported, result.unchanged, result.conflicts, result.rejected) == (2_200, 2_200, 0, 0, 0)
    assert result.convictions == first["convictions"]
    second = docket_file.export_docket(tmp_path / "b.csv.gz", convictions_out=tmp_path / "b_conv.csv", actor_label="test")
    assert (tmp_path / "a.csv.gz").read_bytes() == (tmp_path / "b.csv.gz").read_bytes()
    assert (tmp_path / "a_conv.csv").read_bytes() == (tmp_path / "b_conv.csv").read_bytes()
    assert second["sha256"] == first["sha256"]
    assert summary() == before

    again = load(tmp_path / "a.csv.gz")
    assert (again.rows, again.imported, again.unchanged, again.conflicts) == (2_200, 0, 2_200, 0)


@pytest.mark.django_db
def test_rows_officers_and_rejections(tmp_path, today):
    mine = officers.do_add_officer(name="Ann Bell", office="SPM", external_id="DO-1", actor_label="t")
    officers.do_add_officer(name="Cy Dee", office="DEN", external_id="DO-2", actor_label="t")
    rows = [row(1, officer_external_id="DO-1"),
            row(2, officer_external_id="DO-2"),            # an officer of another office: unassigned, reported
            row(3, officer_external_id="NOPE"),
            row(4, birth_date="1980-13-01"),
            row(5, citizenship="Atlantis"),
            row(6, stage="final_order"),
            row(7, opened_on="2027-01-01"),
            row(8, family_name=""),
            row(9, citizenship="Nigeria", national_security="TRUE", stage="appeal", appeal_pending="true",
                appeal_filed_on="2025-01-01"),
            row(1, office="DEN")]                         # the same person again: one open case only
    result = load(write(tmp_path / "d.csv", rows))
    assert (result.rows, result.imported, result.rejected, result.unassigned) == (10, 4, 6, 3)
    assert result.errors == [
        {"line": 5, "reason": "birth_date: '1980-13-01' is not a date (YYYY-MM-DD)"},
        {"line": 6, "reason": "citizenship: unknown country 'Atlantis'"},
        {"line": 7, "reason": "a final_order case needs final_order_date"},
        {"line": 8, "reason": f"opened_on 2027-01-01 is after today ({AS_OF})"},
        {"line": 9, "reason": "family_name is required"},
        {"line": 11, "reason": "A300-000-001 already has an open case (an earlier row of this file) at SPM"},
    ]
    assert result.unmatched_officers == [{"line": 3, "external_id": "DO-2"}, {"line": 4, "external_id": "NOPE"}]
    assigned = dict(Case.objects.values_list("person__a_number", "officer_id"))
    assert assigned == {"300000001": mine["id"], "300000002": None, "300000003": None, "300000009": None}
    p9 = Person.objects.get(a_number="300000009")
    assert (p9.citizenship_id, p9.national_security_flag) == ("NG", True)
    assert Case.objects.get(person=p9).appeal_filed_on == dt.date(2025, 1, 1)
    assert Case.objects.filter(derived_current=False).count() == 0


@pytest.mark.django_db
def test_conflicts_are_listed_not_applied_unless_update(tmp_path, today):
    load(write(tmp_path / "d.csv", [row(1), row(2)]))
    changed = write(tmp_path / "e.csv", [row(1, supervision_type="bond", given_name="Adaeze"), row(2)])
    before = db_counts()
    result = load(changed)
    assert (result.imported, result.unchanged, result.conflicts, result.updated) == (0, 1, 1, 0)
    case = Case.objects.get(person__a_number="300000001")
    assert result.conflict_list == [{"line": 2, "case_id": case.pk, "a_number": "A300-000-001",
                                     "columns": ["given_name", "supervision_type"]}]
    assert (case.supervision_type, case.person.first_name) == ("recognizance", "Ada")
    assert db_counts()[:3] == before[:3]

    result = load(changed, update=True)
    assert (result.conflicts, result.updated) == (1, 1)
    case = Case.objects.select_related("person").get(pk=case.pk)
    assert (case.supervision_type, case.person.first_name, case.version) == ("bond", "Adaeze", 2)
    event = AuditEvent.objects.get(action="case.import_updated", object_id=str(case.pk))
    assert event.details["columns"] == ["given_name", "supervision_type"]
    assert load(changed).unchanged == 2


@pytest.mark.django_db
def test_dry_run_writes_nothing(tmp_path, today):
    path = write(tmp_path / "d.csv", [row(1), row(2, citizenship="XX")])
    before = db_counts()
    result = load(path, dry_run=True)
    assert (result.rows, result.imported, result.rejected, result.dry_run) == (2, 1, 1, True)
    assert db_counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize(("content", "code"), [
    (b"a_number,family,given\nA300000001,x,y\n", "wrong_header"),
    (b"\x00\x01\x02binary\x00" * 100, "binary_file"),
    (b"", "empty_file"),
])
def test_bad_files_are_refused_before_anything_is_written(tmp_path, content, code, today):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    before = db_counts()
    with pytest.raises(UsageError) as exc:
        load(path)
    assert exc.value.code == code
    assert db_counts() == before


@pytest.mark.django_db
def test_truncated_gzip_is_refused(tmp_path, today):
    whole = write(tmp_path / "d.csv.gz", [row(n) for n in range(2000)]).read_bytes()
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(whole[: len(whole) // 2])
    before = db_counts()
    with pytest.raises(UsageError) as exc:
        load(path)
    assert exc.value.code == "truncated_gzip"
    assert db_counts() == before


def test_cli_json_document_and_refusal_exit_code(tmp_path, databases):
    db = databases("docket_cli", initialised=True)
    path = write(tmp_path / "d.csv", [row(1), row(2, unit="desk")])
    doc = ok(caseload(db, "import", "docket", str(path), "--format", "json"))
    assert {k: doc[k] for k in ("file", "rows", "imported", "unchanged", "conflicts", "rejected", "errors")} == {
        "file": "d.csv", "rows": 2, "imported": 1, "unchanged": 0, "conflicts": 0, "rejected": 1,
        "errors": [{"line": 3, "reason": "unit: 'desk' is not one of non_detained, detained, atd, fugitive_operations"}]}
    assert isinstance(doc["seconds"], float)
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("x,y\n1,2\n")
    result = caseload(db, "import", "docket", str(wrong), "--format", "json")
    assert result.returncode == 2 and '"wrong_header"' in result.stdout


KILL_BATCH = 1_000  # CASELOAD_BULK_BATCH_ROWS: rows per transaction; from this many rows an import into an empty docket drops the indexes
KILL_ROWS = 2 * KILL_BATCH + 1  # three batches
KILL_POINTS = ["bulk.dropped", "bulk.insert:4", "bulk.restore"]


@pytest.mark.slow
def test_import_killed_then_run_again_ends_with_exact_counts(tmp_path, databases):
    path = write(tmp_path / "big.csv.gz", [row(n) for n in range(KILL_ROWS)])
    damaged = 0
    for n, point in enumerate(KILL_POINTS):
        fresh, db = databases(f"docket_fresh{n}", initialised=True), databases(f"docket_kill{n}", initialised=True)
        expected_schema = fresh.schema()
        caseload(db, "import", "docket", str(path), kill=point, batch_rows=KILL_BATCH)
        damaged += db.schema() != expected_schema
        doc = ok(caseload(db, "import", "docket", str(path), "--format", "json", batch_rows=KILL_BATCH))
        assert doc["rows"] == KILL_ROWS and doc["imported"] + doc["unchanged"] == KILL_ROWS and doc["rejected"] == 0, point
        assert db.query("SELECT count(*) FROM docket_case") == [(KILL_ROWS,)], point
        assert db.query("SELECT count(*) FROM docket_person") == [(KILL_ROWS,)], point
        assert db.schema() == expected_schema, point
        assert db.query("SELECT count(*) FROM core_bulkload") == [(0,)], point
        again = ok(caseload(db, "import", "docket", str(path), "--format", "json", batch_rows=KILL_BATCH))
        assert (again["imported"], again["unchanged"]) == (0, KILL_ROWS), point
    assert damaged == len(KILL_POINTS)  # each kill did leave the indexes dropped: the checks above are not vacuous


def test_batch_rows_setting_sets_the_transactions_of_an_import(tmp_path, databases, monkeypatch):
    from caseload.core import bulk
    from caseload.core.errors import ConfigurationError

    db = databases("docket_batches", initialised=True)
    path = write(tmp_path / "d.csv", [row(n) for n in range(250)])
    doc = ok(caseload(db, "import", "docket", str(path), "--format", "json", batch_rows=100))
    assert (doc["rows"], doc["imported"]) == (250, 250)
    events = db.query("SELECT details FROM core_auditevent WHERE action = 'docket.batch_imported' ORDER BY id")
    spans = [(d["first_line"], d["last_line"]) for d in (json.loads(e) if isinstance(e, str) else e for (e,) in events)]
    assert spans == [(2, 101), (102, 201), (202, 251)]  # line 1 is the header

    for value, expected in (("", 50_000), ("100", 100), (" 1000000 ", 1_000_000)):
        monkeypatch.setenv("CASELOAD_BULK_BATCH_ROWS", value)
        assert bulk.batch_rows() == expected
    for bad in ("99", "1000001", "ten", "1e4"):
        monkeypatch.setenv("CASELOAD_BULK_BATCH_ROWS", bad)
        with pytest.raises(ConfigurationError) as refused:
            bulk.batch_rows()
        assert refused.value.code == "bad_setting" and "100 to 1,000,000" in refused.value.message
