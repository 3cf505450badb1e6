"""The ICE extract importer on hand-made files: mapping, identity, rejections, refusals."""

from __future__ import annotations

import datetime as dt
import gzip
import itertools
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from caseload.cli import app
from caseload.core.models import AuditEvent
from caseload.ingest import foia
from caseload.ingest.models import (
    ArrestRecord,
    EncounterRecord,
    ExtractFile,
    ExtractImport,
    RemovalRecord,
)
from caseload.offices.models import FieldOffice
from tests.countries.extracts import (
    ARRESTS_HEADER,
    BIRTH,
    ENCOUNTERS_HEADER,
    REMOVALS_HEADER,
    THREAT,
    extract_text,
    removal,
    write,
)

pytestmark = pytest.mark.django_db
runner = CliRunner()


def load(path):
    return foia.do_import_extract(foia.inspect(path), actor_label="test")


def counts():
    return (ExtractFile.objects.count(), ExtractImport.objects.count(), RemovalRecord.objects.count(),
            ArrestRecord.objects.count(), EncounterRecord.objects.count(), AuditEvent.objects.count())


def office_id(code):
    return FieldOffice.objects.get(code=code).id


def test_every_row_is_kept_with_offices_citizenship_and_days_mapped(tmp_path):
    rows = [
        removal(),                                                    # line 7
        removal(),                                                    # 8: identical, a different person
        removal(office="HQ Area of Responsibility", citizenship="KOSOVO"),
        removal(office="", apprehended="", citizenship="CHINA, PEOPLES REPUBLIC OF"),
        removal(office="Harlingen Area of Responsibility", apprehended="3/5/2016"),  # after the removal date
        removal(office="St. Paul Area of Responsibility", citizenship="BURMA", apprehended="9/20/2015",
                removed="10/2/2015"),
    ]
    rows[1][6] = "NA"
    result = load(write(tmp_path / "r.csv.gz", extract_text(REMOVALS_HEADER, rows)))

    assert result.as_dict() == {"file": "r.csv.gz", "kind": "removals", "fiscal_year": 2016, "rows": 6, "imported": 6,
                                "duplicates": 0, "rejected": 0, "errors": []}
    got = list(RemovalRecord.objects.order_by("line").values_list(
        "line", "office_id", "office_flag", "office_label", "citizenship", "citizenship_raw", "apprehension_date",
        "removal_date", "days_to_removal", "threat_level", "birth_date", "disposition", "final_charge_section", "gender"))
    was, spm = office_id("WAS"), office_id("SPM")
    jan15, mar1 = dt.date(2016, 1, 15), dt.date(2016, 3, 1)
    assert got == [
        (7, was, "", "", "MX", "MEXICO", jan15, mar1, 46, None, None, "REINST", "212a9Aii", "Male"),
        (8, was, "", "", "MX", "MEXICO", jan15, mar1, 46, "NA", None, "REINST", "212a9Aii", "Male"),
        (9, None, "hq", "HQ Area of Responsibility", None, "KOSOVO", jan15, mar1, 46, None, None, "REINST", "212a9Aii", "Male"),
        (10, None, "blank", "", "CN", "CHINA, PEOPLES REPUBLIC OF", None, mar1, None, None, None, "REINST", "212a9Aii", "Male"),
        (11, None, "unknown", "Harlingen Area of Responsibility", "MX", "MEXICO", dt.date(2016, 3, 5), mar1, -4, None, None,
         "REINST", "212a9Aii", "Male"),
        (12, spm, "", "", "MM", "BURMA", dt.date(2015, 9, 20), dt.date(2015, 10, 2), 12, None, None, "REINST", "212a9Aii",
         "Male"),
    ]
    extract = ExtractFile.objects.get()
    assert (extract.kind, extract.fiscal_year, extract.rows, extract.header_line, extract.title) == (
        "removals", 2016, 6, 6, "ICE Removals for FY2016")
    event = AuditEvent.objects.filter(action="ingest.extract_imported").get()
    assert event.object_id == str(extract.pk) and event.details["imported"] == 6 and event.actor_label == "test"


def test_importing_again_adds_nothing_whatever_the_name_or_compression(tmp_path):
    text = extract_text(REMOVALS_HEADER, [removal()] * 3 + [removal(removed="")])
    first = load(write(tmp_path / "a.csv.gz", text))
    before = counts()
    again = load(write(tmp_path / "a.csv.gz", text))
    plain = load(write(tmp_path / "renamed.csv", text, gz=False))

    assert (first.imported, first.rejected) == (3, 1)
    for result in (again, plain):
        assert (result.rows, result.imported, result.duplicates, result.rejected) == (4, 0, 3, 1)
    after = counts()
    assert after[0] == before[0] == 1 and after[2] == before[2] == 3          # one file, three rows
    assert after[1] == before[1] + 2 and after[5] == before[5] + 2            # two more runs on record, audited


def test_an_interrupted_import_is_completed_by_importing_again(tmp_path):
    path = write(tmp_path / "r.csv.gz", extract_text(REMOVALS_HEADER, [removal(removed=f"3/{d}/2016") for d in range(1, 11)]))
    load(path)
    RemovalRecord.objects.filter(line__gt=12).delete()  # as if the last batches never committed
    result = load(path)
    assert (result.imported, result.duplicates) == (4, 6)
    assert sorted(RemovalRecord.objects.values_list("line", flat=True)) == list(range(7, 17))


def test_bad_rows_are_rejected_with_line_numbers_and_the_rest_loads(tmp_path):
    rows = [
        removal(),
        removal()[:9],                                         # 8: a field missing
        removal(removed="13/45/2016"),                         # 9
        removal(removed=""),                                   # 10
        removal(removed="(B)(7)(E)"),                          # 11
        removal(apprehended="2/30/2016"),                      # 12
        removal(charge="x" * 41),                              # 13
        removal(citizenship="GUATEMALA"),
    ]
    result = load(write(tmp_path / "r.csv.gz", extract_text(REMOVALS_HEADER, rows)))
    assert (result.rows, result.imported, result.rejected) == (8, 2, 6)
    assert result.errors == [
        {"line": 8, "reason": "expected 10 fields, found 9"},
        {"line": 9, "reason": "'13/45/2016' is not a calendar date"},
        {"line": 10, "reason": "Removal Date is blank"},
        {"line": 11, "reason": "Removal Date is redacted"},
        {"line": 12, "reason": "'2/30/2016' is not a calendar date"},
        {"line": 13, "reason": "Final Charge Section is longer than 40 characters"},
    ]
    assert sorted(RemovalRecord.objects.values_list("line", "citizenship")) == [(7, "MX"), (14, "GT")]
    assert ExtractImport.objects.get().errors == result.errors


def test_a_row_the_csv_reader_cannot_split_is_rejected_mid_file(tmp_path):
    lines = extract_text(REMOVALS_HEADER, [removal()] * 5000).split("\n")
    lines[4000] = lines[4000].replace("REINST", '"' + "R" * 200_000)  # line 4001: a field over the reader's limit
    result = load(write(tmp_path / "r.csv.gz", "\n".join(lines)))
    assert (result.rows, result.imported, result.rejected) == (5000, 4999, 1)
    assert result.errors[0]["line"] == 4001 and result.errors[0]["reason"].startswith("unreadable row (")


def test_only_the_first_100_errors_are_listed_but_all_are_counted(tmp_path):
    rows = [removal(removed="yesterday")] * 150 + [removal()]
    result = load(write(tmp_path / "r.csv.gz", extract_text(REMOVALS_HEADER, rows)))
    assert (result.rejected, len(result.errors), result.imported) == (150, 100, 1)
    assert result.errors[0] == {"line": 7, "reason": "'yesterday' is not a date (M/D/YYYY)"}
    assert result.errors[-1]["line"] == 106


def _truncated(path):
    data = gzip.compress(extract_text(REMOVALS_HEADER, [removal()] * 2000).encode())
    path.write_bytes(data[: len(data) // 2])
    return path


def _corrupt(path):
    data = bytearray(gzip.compress(extract_text(REMOVALS_HEADER, [removal()] * 50).encode()))
    data[-6] ^= 0xFF  # damages the CRC-32 / length trailer
    path.write_bytes(bytes(data))
    return path


def _raw(data: bytes):
    def make(path):
        path.write_bytes(data)
        return path
    return make


REFUSALS = {
    "wrong_header": lambda p: write(p, "name,date,amount\nA,1/1/2016,3\n", gz=False),
    "header_too_late": lambda p: write(p, extract_text(REMOVALS_HEADER, [removal()], lines_before=["x"] * 25)),
    "missing_column": lambda p: write(p, extract_text([h for h in REMOVALS_HEADER if h != "Citizenship"], [removal()[:9]])),
    "binary_file": lambda p: write(p, "\x00\x01\x02PK\x03\x04" * 200, gz=False),
    "binary_in_gzip": _raw(gzip.compress(bytes(range(256)) * 50)),
    "truncated_gzip": _truncated,
    "corrupt_gzip": _corrupt,
    "empty_file": _raw(b""),
    "blank_text": lambda p: write(p, "\n\n  \n", gz=False),
}
EXPECTED_CODE = {"header_too_late": "wrong_header", "missing_column": "wrong_header", "binary_in_gzip": "binary_file",
                 "blank_text": "empty_file"}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_a_file_that_is_not_an_extract_is_refused_before_anything_is_written(tmp_path, case):
    path = REFUSALS[case](tmp_path / "bad.csv.gz")
    before = counts()
    with pytest.raises(foia.RefusedFile) as refused:
        load(path)
    assert refused.value.code == EXPECTED_CODE.get(case, case)
    assert refused.value.exit_code == 2 and "refused, nothing imported" in refused.value.message
    assert counts() == before


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(foia.RefusedFile) as refused:
        foia.inspect(tmp_path / "nope.csv.gz")
    assert refused.value.code == "file_not_found"


def test_cli_imports_and_prints_one_json_document_per_run(tmp_path):
    good = write(tmp_path / "ICERemovals_FY2016.csv.gz", extract_text(REMOVALS_HEADER, [removal(), removal(removed="x")]))
    result = runner.invoke(app, ["import", "ice-extract", str(good), "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == [{"file": "ICERemovals_FY2016.csv.gz", "kind": "removals", "fiscal_year": 2016,
                                          "rows": 2, "imported": 1, "duplicates": 0, "rejected": 1,
                                          "errors": [{"line": 8, "reason": "'x' is not a date (M/D/YYYY)"}]}]


def test_cli_refuses_the_whole_run_when_one_file_is_bad(tmp_path):
    good = write(tmp_path / "good.csv.gz", extract_text(REMOVALS_HEADER, [removal()]))
    bad = _truncated(tmp_path / "bad.csv.gz")
    before = counts()
    result = runner.invoke(app, ["import", "ice-extract", str(good), str(bad), "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["code"] == "truncated_gzip"
    assert "bad.csv.gz: refused, nothing imported" in result.stderr
    assert counts() == before


def test_any_fiscal_year_and_layout_loads_without_code_changes(tmp_path):
    header = ["Removal Date", "Citizenship", "Area of Responsibility", "Gender", "Threat Level", "Apprehension Date",
              "Processing Disposition", "Docket Control Office"]
    rows = [["11/3/2018", "HONDURAS", "Houston Area of Responsibility", "Female", "NA", "10/30/2018", "ER", "HOU-X"]]
    lines_before = ['"ICE Removals for FY2019"|||||||', "|||||||"]
    result = load(write(tmp_path / "x.txt", extract_text(header, rows, lines_before=lines_before), gz=False))
    assert (result.kind, result.fiscal_year, result.imported) == ("removals", 2019, 1)
    row = RemovalRecord.objects.values("line", "office_id", "citizenship", "threat_level", "disposition", "days_to_removal",
                                       "final_charge_section", "departed_date").get()
    assert row == {"line": 4, "office_id": office_id("HOU"), "citizenship": "HN", "threat_level": "NA", "disposition": "ER",
                   "days_to_removal": 4, "final_charge_section": None, "departed_date": None}
    assert foia.inspect(tmp_path / "x.txt").ignored_columns == ["Docket Control Office"]


def test_fiscal_year_comes_from_the_data_when_title_and_name_have_none(tmp_path):
    rows = [removal(removed="10/5/2020"), removal(removed="11/5/2020"), removal(removed="9/1/2020")]
    result = load(write(tmp_path / "removals.csv.gz", extract_text(REMOVALS_HEADER, rows, title="ICE Removals")))
    assert result.fiscal_year == 2021
    assert ExtractFile.objects.get().fiscal_year == 2021


def test_arrests_and_encounters_are_detected_from_their_headers(tmp_path):
    arrests = extract_text(ARRESTS_HEADER, [
        ["Chicago Area of Responsibility", "10/1/2015", "Located", "CHI GENERAL AREA, NON-SPECIFIC", "", "Other", BIRTH,
         "GUATEMALA", "Male"],
        ["", "10/2/2015", "Located", "", THREAT, "Other", BIRTH, "USSR", "Unknown"],
    ], title="ERO Administrative Arrests for FY2016")
    encounters = extract_text(ENCOUNTERS_HEADER, [
        ["Denver Area of Responsibility", "10/1/2015", "EAGLE COUNTY JAIL", "--", "Not Amenable to Removal", BIRTH, "MEXICO",
         "Male"],
        ["", "12/31/2015", "", "", "Notice to Appear Released (I-862)", BIRTH, "UNKNOWN", ""],
    ], title="ERO Encounters for FY2016")
    a = load(write(tmp_path / "a.csv.gz", arrests))
    e = load(write(tmp_path / "e.csv.gz", encounters))
    assert (a.kind, a.imported, e.kind, e.imported) == ("arrests", 2, "encounters", 2)
    assert list(ArrestRecord.objects.order_by("line").values_list(
        "office_id", "office_flag", "apprehension_date", "apprehension_method", "landmark", "operation", "citizenship",
        "citizenship_raw")) == [
        (office_id("CHI"), "", dt.date(2015, 10, 1), "Located", "CHI GENERAL AREA, NON-SPECIFIC", "", "GT", "GUATEMALA"),
        (None, "blank", dt.date(2015, 10, 2), "Located", "", None, None, "USSR"),
    ]
    assert list(EncounterRecord.objects.order_by("line").values_list(
        "office_id", "event_date", "landmark", "operation", "disposition", "citizenship", "gender")) == [
        (office_id("DEN"), dt.date(2015, 10, 1), "EAGLE COUNTY JAIL", "--", "Not Amenable to Removal", "MX", "Male"),
        (None, dt.date(2015, 12, 31), "", "", "Notice to Appear Released (I-862)", None, ""),
    ]


def test_a_latin1_file_loads(tmp_path):
    text = extract_text(REMOVALS_HEADER, [removal(citizenship="CÔTE D'IVOIRE")])
    path = tmp_path / "latin.csv"
    path.write_bytes(text.encode("latin-1"))
    result = load(path)
    assert result.imported == 1
    assert RemovalRecord.objects.values_list("citizenship", "citizenship_raw").get() == ("CI", "CÔTE D'IVOIRE")


OFFICE_LABELS = [f"{name} Area of Responsibility" for name in (
    "Atlanta", "Baltimore", "Boston", "Buffalo", "Chicago", "Dallas", "Denver", "Detroit", "El Paso", "Houston",
    "Los Angeles", "Miami", "Newark", "New Orleans", "New York City", "Philadelphia", "Phoenix", "Seattle",
    "San Francisco", "Salt Lake City", "San Antonio", "San Diego", "St. Paul", "Washington", "HQ")] + [""]
CITIZENSHIPS = ["MEXICO", "GUATEMALA", "HONDURAS", "EL SALVADOR", "HAITI", "CHINA, PEOPLES REPUBLIC OF", "INDIA",
                "BANGLADESH", "CUBA", "KOREA", "NORTH KOREA", "BURMA", "IVORY COAST", "RUSSIA", "KOSOVO", "USSR",
                "UNKNOWN", ""]
_DATE = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2019, 12, 31)).map(lambda d: f"{d.month}/{d.day}/{d.year}")
_BAD_DATE = st.sampled_from(["", "31/31/2016", "2016-01-01", "(B)(7)(E)", "2/30/2016", "13/1/2016"])
HEADERS = {"removals": REMOVALS_HEADER, "arrests": ARRESTS_HEADER, "encounters": ENCOUNTERS_HEADER}
TITLES = {"removals": "ICE Removals for FY2016", "arrests": "ERO Administrative Arrests for FY2016",
          "encounters": "ERO Encounters for FY2016"}
MODELS = {"removals": RemovalRecord, "arrests": ArrestRecord, "encounters": EncounterRecord}


def kind_row(kind: str, office: str, citizenship: str, date: str, other_date: str) -> list[str]:
    """A row of ``kind`` whose required date is ``date``."""
    if kind == "removals":
        return removal(office=office, citizenship=citizenship, removed=date, apprehended=other_date, departed=date)
    if kind == "arrests":
        return [office, date, "Non-Custodial Arrest", "CHI GENERAL AREA, NON-SPECIFIC", "", "Bag and Baggage", BIRTH,
                citizenship, "Female"]
    return [office, date, "EAGLE COUNTY JAIL", "", "Not Amenable to Removal", BIRTH, citizenship, "Male"]


_files = itertools.count()
_SPEC = st.tuples(st.booleans(), st.sampled_from(OFFICE_LABELS), st.sampled_from(CITIZENSHIPS), _DATE, _DATE, _BAD_DATE)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(sorted(HEADERS)), specs=st.lists(_SPEC, min_size=1, max_size=30))
def test_property_every_row_is_imported_or_rejected_once_and_reimport_adds_nothing(tmp_path, kind, specs):
    """All three kinds, every office (and HQ, blank), mapped and unmapped citizenships, dates over
    thirty years: a good row is imported once, never counted as a duplicate on the first import,
    a bad one rejected; importing again adds nothing."""
    rows = [kind_row(kind, office, citizenship, date if good else bad, other)
            for good, office, citizenship, date, other, bad in specs]
    n = next(_files)  # a new file each example (the same bytes would be the same file, all duplicates)
    path = write(tmp_path / f"p{n}.csv.gz", extract_text(HEADERS[kind], rows, title=f"{TITLES[kind]} #{n}"))
    model = MODELS[kind]
    total = model.objects.count()
    first = load(path)
    good = sum(spec[0] for spec in specs)
    assert first.kind == kind
    assert (first.rows, first.imported, first.duplicates, first.rejected) == (len(specs), good, 0, len(specs) - good)
    assert model.objects.count() == total + good
    again = load(path)
    assert (again.imported, again.duplicates, again.rejected) == (0, good, len(specs) - good)
    assert model.objects.count() == total + good


def test_an_import_that_finds_its_rows_written_meanwhile_is_refused(tmp_path, monkeypatch):
    """Two imports of the same file at once: the one that loses the race writes nothing."""
    from caseload.core.errors import Conflict

    path = write(tmp_path / "r.csv.gz", extract_text(REMOVALS_HEADER, [removal(removed=f"3/{d}/2016") for d in range(1, 6)]))
    original = foia.Parser
    raced = []

    def parser_after_another_import(*args, **kwargs):
        if not raced:          # the other import runs to its end after this one read what exists
            raced.append(None)
            raced[0] = load(path)
        return original(*args, **kwargs)

    monkeypatch.setattr(foia, "Parser", parser_after_another_import)
    with pytest.raises(Conflict) as err:
        load(path)
    assert err.value.code == "import_in_progress"
    assert raced[0].imported == 5
    assert RemovalRecord.objects.count() == 5                 # only the other import's rows
    assert ExtractImport.objects.count() == 1                 # only the other import is on record
    assert AuditEvent.objects.filter(action="ingest.extract_imported").count() == 1
