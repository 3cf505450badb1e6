"""Real FY2016 extracts (FOIA 2019-ICFO-53623) through the importer.

Always on the committed slice in ``tests/data/``; also on the full released files when
``CASELOAD_FOIA_DIR`` names their directory (see ``tests/data/__init__.py``). Each source is
imported once per module inside a transaction that is rolled back at the end. Expected figures
come from the reference computation in ``scripts/derive_foia_aggregates.py`` run over the same
file (plain csv, no caseload import), so a mapping error in the importer shows as a difference.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from django.db.models import Count

from caseload.ingest import foia
from caseload.ingest.models import ArrestRecord, EncounterRecord, ExtractFile, RemovalRecord
from tests.countries.extracts import RolledBack
from tests.data import FULL_ROWS, KINDS, path, reference, sources

MODELS = {"removals": RemovalRecord, "arrests": ArrestRecord, "encounters": EncounterRecord}
AGGREGATES_FILE = Path(foia.__file__).with_name("data") / "foia_aggregates.json"


@pytest.fixture(scope="module", params=sources())
def imported(request, django_db_setup, django_db_blocker):
    source = request.param
    paths = {kind: path(kind, source) for kind in KINDS}
    with RolledBack(django_db_blocker):
        results = {kind: foia.do_import_extract(foia.inspect(p), actor_label="test") for kind, p in paths.items()}
        again = {kind: foia.do_import_extract(foia.inspect(p), actor_label="test") for kind, p in paths.items()}
        expected = {kind: reference().aggregates(p) for kind, p in paths.items()}
        yield source, paths, results, again, expected


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_row_of_the_fy2016_extracts_loads(imported, kind):
    source, paths, results, _, expected = imported
    rows = expected[kind]["rows"]
    assert rows == (FULL_ROWS[kind] if source == "full" else {"removals": 3_004, "arrests": 2_976, "encounters": 3_073}[kind])
    assert results[kind].as_dict() == {"file": paths[kind].name, "kind": kind, "fiscal_year": 2016, "rows": rows,
                                       "imported": rows, "duplicates": 0, "rejected": 0, "errors": []}
    assert MODELS[kind].objects.count() == rows


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_reimporting_the_real_extracts_adds_nothing(imported, kind):
    _, _, _, again, expected = imported
    rows = expected[kind]["rows"]
    assert (again[kind].rows, again[kind].imported, again[kind].duplicates, again[kind].rejected) == (rows, 0, rows, 0)
    assert MODELS[kind].objects.count() == rows
    assert ExtractFile.objects.filter(kind=kind).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_offices_and_citizenships_match_the_reference_computation(imported, kind):
    _, _, _, _, expected = imported
    by_office = Counter()
    for code, flag, label, n in (MODELS[kind].objects.values_list("office__code", "office_flag", "office_label")
                                 .annotate(n=Count("id")).values_list("office__code", "office_flag", "office_label", "n")):
        by_office[code or {"hq": "HQ", "blank": "(blank)"}.get(flag, f"(unknown) {label}")] += n
    assert dict(by_office) == expected[kind]["by_office"]
    unmapped = dict(MODELS[kind].objects.filter(citizenship=None).values_list("citizenship_raw").annotate(n=Count("id"))
                    .values_list("citizenship_raw", "n"))
    assert unmapped == {("" if k == "(blank)" else k): v for k, v in expected[kind]["unmapped_citizenship"].items()}
    mapped = dict(MODELS[kind].objects.exclude(citizenship=None).values_list("citizenship").annotate(n=Count("id"))
                  .values_list("citizenship", "n"))
    assert mapped == {k: v for k, v in expected[kind]["by_citizenship"].items() if k != "??"}


@pytest.mark.django_db
def test_redacted_and_missing_values_are_stored_as_null(imported):
    _, paths, _, _, _ = imported
    counts = reference().removal_figures(paths["removals"])["counts"]
    assert counts["birth_date_given"] == 0
    assert RemovalRecord.objects.exclude(birth_date=None).count() == 0
    assert RemovalRecord.objects.filter(threat_level=None).count() == counts["threat_redacted"]   # "(B)(7)(E) "
    assert RemovalRecord.objects.filter(threat_level="NA").count() == counts["threat_na"]
    assert RemovalRecord.objects.filter(apprehension_date=None).count() == counts["no_apprehension_date"]
    assert RemovalRecord.objects.filter(days_to_removal__lt=0).count() == counts["negative_days"]
    assert counts["threat_redacted"] + counts["threat_na"] == RemovalRecord.objects.count()


@pytest.mark.django_db
def test_the_generators_aggregates_are_those_of_the_full_files(imported):
    """The committed table the generator reads is what the reference derives from the released
    files (on the slice: every slice row is counted in it, office by office)."""
    source, paths, _, _, expected = imported
    committed = json.loads(AGGREGATES_FILE.read_text())
    if source == "full":
        for kind in KINDS:
            assert committed["files"][kind] == expected[kind]
    else:
        for kind in KINDS:
            full = committed["files"][kind]["by_office"]
            assert all(n <= full[office] for office, n in expected[kind]["by_office"].items())


def test_the_reference_computation_imports_nothing_from_the_product():
    import ast

    tree = ast.parse((Path(reference().__file__)).read_text())
    modules = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    modules |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert modules and not any(m == "caseload" or m.startswith("caseload.") for m in modules)
    assert "sys.path" not in Path(reference().__file__).read_text()
