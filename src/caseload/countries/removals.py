"""Removal analytics from the imported ICE removal records (``caseload countries removals``).

Days run from apprehension to removal (``days_to_removal``, computed at import). Rows lacking
either date, or whose removal date precedes the apprehension date (inconsistent in the source),
count in ``removals`` but not in the day figures. A fiscal year's removals are the records whose
removal date falls in it (1 October to 30 September), whatever file they came from.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
from django.db.models import Count, Max

from caseload.core.errors import NotFound, UsageError
from caseload.countries.stats import grouped_percentiles, round_or_none

QS = (50, 90)
Z90 = 1.2815515655446004  # standard normal quantile at 0.90, for the log-normal fit


def fiscal_year_range(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year - 1, 10, 1), dt.date(year, 9, 30)


def latest_fiscal_year() -> int:
    from caseload.ingest.foia import fiscal_year_of
    from caseload.ingest.models import RemovalRecord

    last = RemovalRecord.objects.aggregate(last=Max("removal_date"))["last"]
    if last is None:
        raise NotFound("no_removals", "no removal records imported; run: caseload import ice-extract FILE")
    return fiscal_year_of(last)


def _records(fiscal_year: int | None):
    from caseload.ingest.models import RemovalRecord

    if fiscal_year is not None and not 1900 <= fiscal_year <= 2200:
        raise UsageError("invalid_fiscal_year", f"fiscal year must be a year such as 2016, got {fiscal_year}")
    year = fiscal_year if fiscal_year is not None else latest_fiscal_year()
    return year, RemovalRecord.objects.filter(removal_date__range=fiscal_year_range(year))


def _columns(qs, *fields: str) -> list[np.ndarray]:
    rows = list(qs.values_list(*fields))
    if not rows:
        return [np.array([], dtype=object) for _ in fields]
    return [np.array(col, dtype=object) for col in zip(*rows, strict=True)]


def _keys(codes: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """ISO code, or the raw name for an unmapped citizenship."""
    return np.where(codes == None, raw, codes)  # noqa: E711  (element-wise comparison)


def _figures(keys: np.ndarray, days: np.ndarray) -> dict:
    """{key: (removals, median, p90)} with the day figures over the rows with days >= 0."""
    if len(keys) == 0:
        return {}
    as_text = np.array(["\x00" if k is None else str(k) for k in keys])
    groups, counts = np.unique(as_text, return_counts=True)
    known = np.array([d is not None and d >= 0 for d in days], dtype=bool)
    g_days, _, pct = grouped_percentiles(as_text[known], np.array(days[known], dtype=float), QS)
    day_figures = {g: (round_or_none(p[0]), round_or_none(p[1])) for g, p in zip(g_days.tolist(), pct, strict=True)}
    return {g: (int(n), *day_figures.get(g, (None, None))) for g, n in zip(groups.tolist(), counts, strict=True)}


def _unkey(text: str):
    return None if text == "\x00" else text


def removals(*, fiscal_year: int | None = None) -> dict:
    """Removals of a fiscal year (default: the latest imported) by country, office and
    country x disposition, with median and 90th-percentile days from apprehension to removal."""
    from caseload.ingest.models import OfficeFlag

    year, qs = _records(fiscal_year)
    codes, raw, disposition, days = _columns(qs, "citizenship", "citizenship_raw", "disposition", "days_to_removal")
    country = _keys(codes, raw)
    by_country = _figures(country, days)
    pair = np.array([f"{c}\x1f{'' if d is None else d}" for c, d in zip(country, disposition, strict=True)], dtype=object)
    by_pair = _figures(pair, days)

    offices = []
    for code, flag, label, n in (qs.values_list("office__code", "office_flag", "office_label")
                                 .annotate(n=Count("id")).values_list("office__code", "office_flag", "office_label", "n")):
        name = code or ("HQ" if flag == OfficeFlag.HQ else (label or None))
        offices.append({"office": name, "removals": n})
    merged: dict = {}
    for o in offices:
        merged[o["office"]] = merged.get(o["office"], 0) + o["removals"]

    def order(key: str | None) -> str:
        return "" if key is None else key

    return {
        "fiscal_year": year,
        "total": int(len(country)),
        "by_country": sorted(({"country": _unkey(k), "removals": n, "median_days": med, "p90_days": p90}
                              for k, (n, med, p90) in by_country.items()),
                             key=lambda r: (-r["removals"], order(r["country"]))),
        "by_office": sorted(({"office": k, "removals": n} for k, n in merged.items()),
                            key=lambda r: (-r["removals"], order(r["office"]))),
        "by_country_disposition": sorted(
            ({"country": _unkey(k.split("\x1f")[0]), "disposition": k.split("\x1f")[1] or None, "removals": n,
              "median_days": med, "p90_days": p90} for k, (n, med, p90) in by_pair.items()),
            key=lambda r: (order(r["country"]), -r["removals"], order(r["disposition"]))),
    }


def durations_by_tier(*, fiscal_year: int | None = None) -> dict:
    """Apprehension-to-removal days by the cooperation tier of the country (tier in force at the
    end of the fiscal year), with a log-normal fit (median, sigma) for the generator and the
    forecast. Unmapped citizenships are left out."""
    from caseload.countries.services import tiers_as_of

    year, qs = _records(fiscal_year)
    codes, days = _columns(qs.exclude(citizenship=None), "citizenship", "days_to_removal")
    tiers = tiers_as_of(fiscal_year_range(year)[1])
    tier_of = np.array([tiers[c].tier if c in tiers else "cooperative" for c in codes], dtype=object)
    figures = _figures(tier_of, days)
    out = {}
    for tier, (n, median, p90) in sorted(figures.items()):
        known = np.array([d is not None and d >= 0 for d in days], dtype=bool) & (tier_of == tier)
        sigma = None
        if median and p90 and median > 0 and p90 > median:
            sigma = round((math.log(p90) - math.log(median)) / Z90, 3)
        out[tier] = {"removals": n, "with_days": int(known.sum()), "median_days": median, "p90_days": p90,
                     "lognormal_sigma": sigma}
    files = sorted(set(qs.values_list("file__name", flat=True).distinct()))
    return {"fiscal_year": year, "source": "imported ICE removal records (ICE ERO-LESA statistical extracts)",
            "files": files,
            "measure": "days from apprehension to removal; rows lacking either date or with removal before apprehension left out",
            "tier_as_of": fiscal_year_range(year)[1].isoformat(), "by_tier": out}


def write_durations(document: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1) + "\n")
