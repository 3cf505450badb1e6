"""The three real FY2016 extracts (FOIA 2019-ICFO-53623), read from ../shared/data/ice-foia.

They are imported once for this module inside a transaction that is rolled back at the end.
Expected figures: row counts from DOMAIN.md §8; office and citizenship counts from
``src/caseload/ingest/data/foia_aggregates.json``, derived by a separate script.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from django.db.models import Count

from caseload.ingest import foia
from caseload.ingest.models import ArrestRecord, EncounterRecord, ExtractFile, RemovalRecord
from tests.countries.extracts import REAL_FILES, RolledBack, real_file

AGGREGATES = json.loads((Path(foia.__file__).with_name("data") / "foia_aggregates.json").read_text())
MODELS = {"removals": RemovalRecord, "arrests": ArrestRecord, "encounters": EncounterRecord}


@pytest.fixture(scope="module")
def imported(django_db_setup, django_db_blocker):
    paths = {kind: real_file(kind) for kind in REAL_FILES}
    with RolledBack(django_db_blocker):
        results = {kind: foia.do_import_extract(foia.inspect(path), actor_label="test") for kind, path in paths.items()}
        again = {kind: foia.do_import_extract(foia.inspect(path), actor_label="test") for kind, path in paths.items()}
        yield results, again


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(REAL_FILES))
def test_every_row_of_the_fy2016_extracts_loads(imported, kind):
    results, _ = imported
    name, rows = REAL_FILES[kind]
    assert results[kind].as_dict() == {"file": name, "kind": kind, "fiscal_year": 2016, "rows": rows, "imported": rows,
                                       "duplicates": 0, "rejected": 0, "errors": []}
    assert MODELS[kind].objects.count() == rows


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(REAL_FILES))
def test_reimporting_the_real_extracts_adds_nothing(imported, kind):
    _, again = imported
    rows = REAL_FILES[kind][1]
    assert (again[kind].rows, again[kind].imported, again[kind].duplicates, again[kind].rejected) == (rows, 0, rows, 0)
    assert MODELS[kind].objects.count() == rows
    assert ExtractFile.objects.filter(kind=kind).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(REAL_FILES))
def test_offices_and_citizenships_match_the_independently_derived_aggregates(imported, kind):
    expected = AGGREGATES["files"][kind]
    by_office = Counter()
    for code, flag, n in MODELS[kind].objects.values_list("office__code", "office_flag").annotate(n=Count("id")).values_list(
            "office__code", "office_flag", "n"):
        by_office[code or ("HQ" if flag == "hq" else "(blank)")] += n
    assert dict(by_office) == expected["by_office"]
    unmapped = dict(MODELS[kind].objects.filter(citizenship=None).values_list("citizenship_raw").annotate(n=Count("id"))
                    .values_list("citizenship_raw", "n"))
    assert unmapped == expected["unmapped_citizenship"]
    mapped = dict(MODELS[kind].objects.exclude(citizenship=None).values_list("citizenship").annotate(n=Count("id"))
                  .values_list("citizenship", "n"))
    assert mapped == {k: v for k, v in expected["by_citizenship"].items() if k != "??"}


@pytest.mark.django_db
def test_redacted_birth_dates_and_threat_levels_are_stored_as_null(imported):
    assert RemovalRecord.objects.exclude(birth_date=None).count() == 0
    assert RemovalRecord.objects.filter(threat_level=None).count() == 138_669   # "(B)(7)(E) " in the file
    assert RemovalRecord.objects.filter(threat_level="NA").count() == 101_586
    assert RemovalRecord.objects.filter(apprehension_date=None).count() == 2_690
    assert RemovalRecord.objects.filter(days_to_removal__lt=0).count() == 341
