"""The importer refuses what it cannot read: NUL bytes, byte-order marks, other line ends, renamed columns."""

from __future__ import annotations

import codecs

import pytest

from caseload.core.models import AuditEvent
from caseload.ingest import foia
from caseload.ingest.models import ExtractFile, ExtractImport, RemovalRecord
from tests.countries.extracts import REMOVALS_HEADER, extract_text, removal, write

pytestmark = pytest.mark.django_db


def load(path):
    return foia.do_import_extract(foia.inspect(path), actor_label="test")


def counts():
    return (ExtractFile.objects.count(), ExtractImport.objects.count(), RemovalRecord.objects.count(),
            AuditEvent.objects.count())


def days(n: int) -> list[list[str]]:
    return [removal(removed=f"3/{1 + i % 28}/2016") for i in range(n)]


@pytest.mark.parametrize("at_line", [9, 3_000])  # within the first 64 KiB, and well after it
def test_a_nul_byte_is_a_rejected_row_with_its_line_and_the_rest_loads(tmp_path, at_line):
    lines = extract_text(REMOVALS_HEADER, days(3_000)).split("\n")
    lines[at_line - 1] = lines[at_line - 1].replace("REINST", "REI\x00NST")
    path = write(tmp_path / "nul.csv.gz", "\n".join(lines))

    result = load(path)

    assert (result.rows, result.imported, result.rejected) == (3_000, 2_999, 1)
    assert result.errors == [{"line": at_line, "reason": "the row holds a NUL byte"}]
    assert RemovalRecord.objects.count() == 2_999
    assert not RemovalRecord.objects.filter(line=at_line).exists()
    again = load(path)  # a re-run neither fails nor adds anything
    assert (again.imported, again.duplicates, again.rejected) == (0, 2_999, 1)
    assert RemovalRecord.objects.count() == 2_999


def test_a_nul_byte_in_a_column_that_is_not_stored_still_rejects_the_row(tmp_path):
    header = [*REMOVALS_HEADER, "Docket Control Office"]
    rows = [[*removal(), "WAS"], [*removal(), "W\x00S"]]
    result = load(write(tmp_path / "n.csv", extract_text(header, rows), gz=False))
    assert (result.imported, result.errors) == (1, [{"line": 8, "reason": "the row holds a NUL byte"}])


@pytest.mark.parametrize("preamble", [True, False])
def test_a_utf8_byte_order_mark_before_the_first_line_is_accepted(tmp_path, preamble):
    text = extract_text(REMOVALS_HEADER, [removal(), removal(citizenship="CÔTE D'IVOIRE")],
                        **({} if preamble else {"lines_before": []}))
    path = tmp_path / "bom.csv"
    path.write_bytes(codecs.BOM_UTF8 + text.encode())

    inspection = foia.inspect(path)
    result = load(path)

    assert inspection.header_line == (6 if preamble else 1) and inspection.header[0] == "Area of Responsibility"
    assert (result.kind, result.imported, result.rejected) == ("removals", 2, 0)
    assert sorted(RemovalRecord.objects.values_list("citizenship_raw", flat=True)) == ["CÔTE D'IVOIRE", "MEXICO"]


@pytest.mark.parametrize("variant", ["crlf", "cr", "bom", "bom_crlf_gzip"])
def test_a_copy_differing_only_in_line_ends_or_a_bom_is_the_same_file(tmp_path, variant):
    text = extract_text(REMOVALS_HEADER, days(40))
    first = load(write(tmp_path / "a.csv", text, gz=False))
    before = counts()
    data = text.encode()
    if "crlf" in variant:
        data = data.replace(b"\n", b"\r\n")
    if variant == "cr":
        data = data.replace(b"\n", b"\r")
    if "bom" in variant:
        data = codecs.BOM_UTF8 + data
    copy = write(tmp_path / "copy.csv", data.decode("utf-8"), gz=variant.endswith("gzip"))

    assert foia.inspect(copy).sha256 == foia.inspect(tmp_path / "a.csv").sha256
    again = load(copy)

    assert (first.imported, again.rows, again.imported, again.duplicates) == (40, 40, 0, 40)
    after = counts()
    assert after[0] == before[0] == 1 and after[2] == before[2] == 40


def test_a_different_file_has_a_different_identity(tmp_path):
    a = foia.inspect(write(tmp_path / "a.csv", extract_text(REMOVALS_HEADER, days(3)), gz=False))
    b = foia.inspect(write(tmp_path / "b.csv", extract_text(REMOVALS_HEADER, days(4)), gz=False))
    assert a.sha256 != b.sha256


@pytest.mark.parametrize("rename, expected", [
    ({"Gender": "Sex"}, "lacks column(s): Gender (unknown column(s): Sex)"),
    ({"Gender": None}, "lacks column(s): Gender"),
    ({"Processing Disposition Code": "Disposition Kode"},
     "lacks column(s): Processing Disposition Code (unknown column(s): Disposition Kode)"),
    ({"Apprehension Date": None, "RC Threat Level": "Threat"},
     "lacks column(s): Apprehension Date, RC Threat Level (unknown column(s): Threat)"),
])
def test_a_renamed_or_missing_column_is_a_refused_file(tmp_path, rename, expected):
    keep = [i for i, h in enumerate(REMOVALS_HEADER) if rename.get(h, h) is not None]
    header = [rename.get(REMOVALS_HEADER[i], REMOVALS_HEADER[i]) for i in keep]
    rows = [[r[i] for i in keep] for r in days(5)]
    path = write(tmp_path / "renamed.csv.gz", extract_text(header, rows))
    before = counts()

    with pytest.raises(foia.RefusedFile) as refused:
        load(path)

    assert refused.value.code == "wrong_header" and refused.value.exit_code == 2
    assert refused.value.message.endswith(expected)
    assert "refused, nothing imported" in refused.value.message
    assert counts() == before


def test_optional_columns_absent_from_a_layout_still_load(tmp_path):
    optional = {"Birth Date", "Final Charge Section", "Departed Date"}
    keep = [i for i, h in enumerate(REMOVALS_HEADER) if h not in optional]
    rows = [[r[i] for i in keep] for r in days(2)]
    result = load(write(tmp_path / "short.csv.gz", extract_text([REMOVALS_HEADER[i] for i in keep], rows)))
    assert (result.imported, result.rejected) == (2, 0)
    assert set(RemovalRecord.objects.values_list("birth_date", "final_charge_section", "departed_date")) == {(None, None, None)}
