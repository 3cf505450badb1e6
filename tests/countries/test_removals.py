"""Removal analytics over imported records: hand-made extracts (exact), and the real FY2016
removals (the committed slice, and the full file with CASELOAD_FOIA_DIR) against the reference
computation in scripts/derive_foia_aggregates.py (csv and statistics, no caseload import)."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from caseload.core.errors import NotFound, UsageError
from caseload.countries.removals import durations_by_tier, removals
from caseload.ingest import foia
from tests.countries.extracts import REMOVALS_HEADER, RolledBack, extract_text, removal, write
from tests.data import path, reference, sources


def load(path):
    return foia.do_import_extract(foia.inspect(path), actor_label="test")


@pytest.mark.django_db
def test_removals_by_country_office_and_disposition_are_exact(tmp_path):
    rows = [
        removal(apprehended="1/1/2016", removed="1/11/2016"),                                   # MX 10 days
        removal(apprehended="1/1/2016", removed="1/21/2016"),                                   # MX 20
        removal(apprehended="1/1/2016", removed="2/10/2016", disposition="ER"),                 # MX 40, ER
        removal(apprehended="", removed="3/1/2016"),                                             # MX no apprehension date
        removal(apprehended="3/5/2016", removed="3/1/2016"),                                     # MX removal before apprehension
        removal(citizenship="KOSOVO", office="HQ Area of Responsibility", apprehended="1/1/2016", removed="1/31/2016"),
        removal(citizenship="HAITI", office="", apprehended="", removed="2/1/2016", disposition=""),
        removal(removed="9/30/2015"),                                                            # FY2015
    ]
    load(write(tmp_path / "r.csv.gz", extract_text(REMOVALS_HEADER, rows)))
    doc = removals(fiscal_year=2016)
    assert doc == {
        "fiscal_year": 2016,
        "total": 7,
        "by_country": [
            {"country": "MX", "removals": 5, "median_days": 20.0, "p90_days": 36.0},
            {"country": "HT", "removals": 1, "median_days": None, "p90_days": None},
            {"country": "KOSOVO", "removals": 1, "median_days": 30.0, "p90_days": 30.0},
        ],
        "by_office": [{"office": "WAS", "removals": 5}, {"office": None, "removals": 1}, {"office": "HQ", "removals": 1}],
        "by_country_disposition": [
            {"country": "HT", "disposition": None, "removals": 1, "median_days": None, "p90_days": None},
            {"country": "KOSOVO", "disposition": "REINST", "removals": 1, "median_days": 30.0, "p90_days": 30.0},
            {"country": "MX", "disposition": "REINST", "removals": 4, "median_days": 15.0, "p90_days": 19.0},
            {"country": "MX", "disposition": "ER", "removals": 1, "median_days": 40.0, "p90_days": 40.0},
        ],
    }
    assert removals()["fiscal_year"] == 2016                   # the latest imported year
    assert removals(fiscal_year=2015)["total"] == 1
    assert removals(fiscal_year=2030) == {"fiscal_year": 2030, "total": 0, "by_country": [], "by_office": [],
                                          "by_country_disposition": []}
    with pytest.raises(UsageError):
        removals(fiscal_year=16)


@pytest.mark.django_db
def test_no_imported_removals_is_a_clear_error():
    with pytest.raises(NotFound) as err:
        removals()
    assert err.value.code == "no_removals" and "caseload import ice-extract" in err.value.message


@pytest.fixture(scope="module", params=sources())
def fy2016(request, django_db_setup, django_db_blocker):
    """The FY2016 removals (the committed slice; also the full file with CASELOAD_FOIA_DIR)
    imported, with the analytics and the reference computation over the same file."""
    from caseload.countries.services import tiers_as_of

    source = path("removals", request.param)
    with RolledBack(django_db_blocker):
        load(source)
        tiers = {code: t.tier for code, t in tiers_as_of(dt.date(2016, 9, 30)).items()}
        yield (request.param, removals(fiscal_year=2016), durations_by_tier(fiscal_year=2016),
               reference().removal_figures(source, fiscal_year=2016, tier_of=tiers))


@pytest.mark.django_db
def test_fy2016_removals_match_the_reference_computation(fy2016):
    source, doc, _, expected = fy2016
    assert doc["total"] == expected["total"] == (240_255 if source == "full" else 3_004)
    assert sum(r["removals"] for r in doc["by_country"]) == sum(r["removals"] for r in doc["by_office"]) == doc["total"]
    assert {r["country"]: (r["removals"], r["median_days"], r["p90_days"]) for r in doc["by_country"]} == expected["by_country"]
    assert {r["office"]: r["removals"] for r in doc["by_office"]} == expected["by_office"]
    assert {(r["country"], r["disposition"]): (r["removals"], r["median_days"], r["p90_days"])
            for r in doc["by_country_disposition"]} == expected["by_country_disposition"]
    counts = [r["removals"] for r in doc["by_country"]]
    assert counts == sorted(counts, reverse=True)
    if source == "full":   # figures published with the release, checked once by hand
        by_country = {r["country"]: r for r in doc["by_country"]}
        assert by_country["MX"] == {"country": "MX", "removals": 149_821, "median_days": 18.0, "p90_days": 398.0}
        assert [r["country"] for r in doc["by_country"][:4]] == ["MX", "GT", "HN", "SV"]


@pytest.mark.django_db
def test_fy2016_durations_by_tier_match_the_reference_computation(fy2016):
    _, _, doc, expected = fy2016
    assert doc["tier_as_of"] == "2016-09-30"
    assert {t: {k: f[k] for k in ("removals", "with_days", "median_days", "p90_days")} for t, f in doc["by_tier"].items()} \
        == expected["by_tier"]
    for figures in doc["by_tier"].values():
        median, p90 = figures["median_days"], figures["p90_days"]
        if median and p90 and p90 > median:
            assert figures["lognormal_sigma"] == round((math.log(p90) - math.log(median)) / 1.2815515655446004, 3)
