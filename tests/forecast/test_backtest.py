"""``caseload forecast backtest``: exact figures on hand-made extracts, and the committed FY2016
slice split in time (first eight months fit, last four scored)."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from caseload.cli import app
from caseload.forecast import backtesting
from tests.countries.extracts import REMOVALS_HEADER, extract_text, removal, write
from tests.data import path as data_path

pytestmark = pytest.mark.django_db
runner = CliRunner()

FIT_MONTHS = [(2015, 10), (2015, 11), (2015, 12), (2016, 1), (2016, 2), (2016, 3), (2016, 4), (2016, 5)]
TEST_MONTHS = [(2016, 6), (2016, 7), (2016, 8), (2016, 9)]


def backtest_json(fit: list, test: list):
    args = ["forecast", "backtest"]
    for f in fit:
        args += ["--fit", str(f)]
    for t in test:
        args += ["--test", str(t)]
    return runner.invoke(app, [*args, "--format", "json"], catch_exceptions=False)


def same_month_removals(months: list[tuple[int, int]], counts: list[int], citizenship: str = "MEXICO") -> list[list[str]]:
    rows = []
    for (year, month), n in zip(months, counts, strict=True):
        day = f"{month}/10/{year}"
        rows += [removal(apprehended=day, removed=day, departed=day, citizenship=citizenship)] * n
    return rows


def test_exact_figures_when_everyone_is_removed_in_the_month_of_apprehension(tmp_path):
    fit_counts = [10, 12, 14, 16, 18, 20, 22, 24]
    test_counts = [26, 28, 30, 32]
    fit = write(tmp_path / "fit.csv.gz", extract_text(REMOVALS_HEADER, same_month_removals(FIT_MONTHS, fit_counts)))
    test = write(tmp_path / "test.csv.gz", extract_text(REMOVALS_HEADER, same_month_removals(TEST_MONTHS, test_counts)))
    result = backtest_json([fit], [test])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert {"fit_period", "test_period", "mape", "seasonal_naive_mape", "by_country"} <= set(doc)
    assert doc["fit_period"]["from"] == "2015-10-10" and doc["fit_period"]["to"] == "2016-05-10"
    assert doc["fit_period"]["months"] == 8 and doc["fit_period"]["removals"] == sum(fit_counts)
    assert doc["test_period"]["months"] == 4 and doc["test_period"]["removals"] == sum(test_counts)
    # lead time 0 for all: the future apprehensions are the mean of the last three fit months (22)
    assert [m["forecast"] for m in doc["months"]] == [22.0, 22.0, 22.0, 22.0]
    assert [m["actual"] for m in doc["months"]] == test_counts
    expected = round(float(np.mean([4 / 26, 6 / 28, 8 / 30, 10 / 32])) * 100, 2)
    assert doc["mape"] == expected
    # seasonal naive without the same calendar month in the fit: one test length (4 months) earlier
    assert [m["seasonal_naive"] for m in doc["months"]] == [18.0, 20.0, 22.0, 24.0]
    assert doc["seasonal_naive_mape"] == round(float(np.mean([8 / 26, 8 / 28, 8 / 30, 8 / 32])) * 100, 2)
    assert doc["by_country"] == [{"country": "MX", "tier": "cooperative", "fit_removals": sum(fit_counts),
                                  "mape": expected, "seasonal_naive_mape": doc["seasonal_naive_mape"]}]


def test_a_lead_time_is_learnt_from_the_fit_period():
    """Half removed in the month of apprehension, half one month later; 100 apprehended a month."""
    app, rem = [], []
    for a in range(0, 8):
        app += [a] * 50 + [a] * 50
        rem += [a] * 50 + [a + 1] * 50
    app, rem = np.array(app) + 24_000, np.array(rem) + 24_000
    keep = rem <= 24_007
    model = backtesting.fit_runoff(app[keep], rem[keep], (24_000, 24_007))
    assert model.p[:2] == pytest.approx([0.5, 0.5], abs=1e-6)
    assert model.forecast([24_008, 24_009]) == pytest.approx([100.0, 100.0], rel=1e-6)


def test_test_period_must_follow_the_fit_period(tmp_path):
    fit = write(tmp_path / "fit.csv.gz", extract_text(REMOVALS_HEADER, same_month_removals(TEST_MONTHS, [1, 1, 1, 1])))
    test = write(tmp_path / "test.csv.gz", extract_text(REMOVALS_HEADER, same_month_removals(FIT_MONTHS, [1] * 8)))
    result = backtest_json([fit], [test])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["code"] == "overlapping_periods"


def test_an_arrests_extract_is_refused(tmp_path):
    from tests.countries.extracts import ARRESTS_HEADER, BIRTH

    arrests = write(tmp_path / "a.csv.gz", extract_text(
        ARRESTS_HEADER, [["Washington Area of Responsibility", "1/15/2016", "CAP", "", "", "REINST", BIRTH, "MEXICO", "Male"]],
        title="ERO Administrative Arrests FY2016"))
    result = backtest_json([arrests], [arrests])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["code"] == "not_removals"


def split_in_time(source, fit_path, test_path, cut=(2016, 6)) -> tuple[int, int]:
    """The extract's preamble and header, then its rows with removal month before ``cut`` (fit) or not (test)."""
    lines = gzip.open(source, "rt", encoding="utf-8", newline="").read().split("\n")
    head, body = lines[:6], [line for line in lines[6:] if line.strip()]
    fit, test = [], []
    for line in body:
        month, _, year = line.rstrip("\r").split("|")[-1].strip().strip('"').split("/")
        (fit if (int(year), int(month)) < cut else test).append(line)
    for target, rows in ((fit_path, fit), (test_path, test)):
        target.write_bytes(gzip.compress(("\n".join(head + rows) + "\n").encode(), mtime=0))
    return len(fit), len(test)


def test_the_fy2016_slice_split_in_time(tmp_path):
    fit, test = tmp_path / "fit.csv.gz", tmp_path / "test.csv.gz"
    n_fit, n_test = split_in_time(data_path("removals"), fit, test)
    result = backtest_json([fit], [test])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["fit_period"]["from"][:7] == "2015-10" and doc["fit_period"]["to"][:7] == "2016-05"
    assert doc["test_period"]["from"][:7] == "2016-06" and doc["test_period"]["to"][:7] == "2016-09"
    assert doc["fit_period"]["removals"] == n_fit and doc["test_period"]["removals"] == n_test
    assert sum(m["actual"] for m in doc["months"]) == n_test
    assert [m["month"] for m in doc["months"]] == ["2016-06", "2016-07", "2016-08", "2016-09"]
    recomputed = round(float(np.mean([abs(m["forecast"] - m["actual"]) / m["actual"] for m in doc["months"]])) * 100, 2)
    assert doc["mape"] == pytest.approx(recomputed, abs=0.02)
    assert 1 <= len(doc["by_country"]) <= 10
    fit_counts = [c["fit_removals"] for c in doc["by_country"]]
    assert fit_counts == sorted(fit_counts, reverse=True) and doc["by_country"][0]["country"] == "MX"
    assert all(set(c) == {"country", "tier", "fit_removals", "mape", "seasonal_naive_mape"} for c in doc["by_country"])
