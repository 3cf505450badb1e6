"""Removal analytics over imported records: hand-made extracts (exact) and the real FY2016 file."""

from __future__ import annotations

import pytest

from caseload.core.errors import NotFound, UsageError
from caseload.countries.removals import durations_by_tier, removals
from caseload.ingest import foia
from tests.countries.extracts import REMOVALS_HEADER, RolledBack, extract_text, real_file, removal, write


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


@pytest.fixture(scope="module")
def fy2016(django_db_setup, django_db_blocker):
    path = real_file("removals")
    with RolledBack(django_db_blocker):
        load(path)
        yield removals(fiscal_year=2016), durations_by_tier(fiscal_year=2016)


@pytest.mark.django_db
def test_fy2016_removals_from_the_real_extract(fy2016):
    doc, _ = fy2016
    assert doc["total"] == 240_255
    assert sum(r["removals"] for r in doc["by_country"]) == sum(r["removals"] for r in doc["by_office"]) == 240_255
    by_country = {r["country"]: r for r in doc["by_country"]}
    # Figures checked independently with numpy.percentile over the raw file.
    assert by_country["MX"] == {"country": "MX", "removals": 149_821, "median_days": 18.0, "p90_days": 398.0}
    assert by_country["HT"] == {"country": "HT", "removals": 310, "median_days": 559.5, "p90_days": 5165.5}
    assert by_country["CN"] == {"country": "CN", "removals": 398, "median_days": 143.0, "p90_days": 4123.8}
    assert by_country["KOSOVO"] == {"country": "KOSOVO", "removals": 14, "median_days": 485.0, "p90_days": 5778.2}
    assert [r["country"] for r in doc["by_country"][:4]] == ["MX", "GT", "HN", "SV"]
    by_office = {r["office"]: r["removals"] for r in doc["by_office"]}
    assert (by_office["SNA"], by_office["HQ"], by_office["BAL"]) == (72_597, 15, 683) and None not in by_office
    mx_reinst = next(r for r in doc["by_country_disposition"] if (r["country"], r["disposition"]) == ("MX", "REINST"))
    assert mx_reinst == {"country": "MX", "disposition": "REINST", "removals": 89_492, "median_days": 3.0, "p90_days": 180.0}


@pytest.mark.django_db
def test_fy2016_durations_by_tier_for_calibration(fy2016):
    _, doc = fy2016
    assert doc["tier_as_of"] == "2016-09-30"
    assert {t: (f["removals"], f["with_days"], f["median_days"], f["p90_days"]) for t, f in doc["by_tier"].items()} == {
        "cooperative": (235_290, 232_568, 21.0, 371.0), "delayed": (3_376, 3_200, 147.5, 2622.1),
        "restricted": (879, 781, 311.0, 3234.0), "uncooperative": (671, 646, 399.5, 4098.0)}
    assert doc["by_tier"]["uncooperative"]["lognormal_sigma"] == 1.817
