#!/usr/bin/env python3
"""Derive the generator's office and citizenship mix from the real FY2016 ICE FOIA extracts.

Reads the three extracts (removals, arrests, encounters) and writes a small table of aggregate
counts into the package (``src/caseload/ingest/data/foia_aggregates.json``): rows by office,
by citizenship (ISO alpha-2) and by office x citizenship, per file. The extracts themselves
never enter the repository; the generator reads only this table at run time.

This is also the reference computation the tests compare the importer and the removal
analytics with (``tests/ingest/test_foia_real.py``, ``tests/countries/test_removals.py``), so it
deliberately does not import ``caseload``: it reads the files with ``csv`` and ``gzip``, computes
with ``statistics``, and keeps its own tables of office names and citizenship names. A mapping
error in the product therefore shows up as a difference instead of being shared.

Usage: python scripts/derive_foia_aggregates.py DATA_DIR [--out PATH]
DATA_DIR is the directory holding the three FY2016 files (also read from CASELOAD_FOIA_DIR).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gzip
import hashlib
import json
import os
import statistics
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pycountry

ROOT = Path(__file__).resolve().parents[1]
FILES = {
    "removals": "ICERemovals_FY2016.csv.gz",
    "arrests": "EROArrests_FY2016.csv.gz",
    "encounters": "EROEncounters_FY2016.csv.gz",
}
OFFICE_COLUMNS = ("Area of Responsibility", "Event Area of Responsibility")
PREAMBLE_LINES = 5
REDACTED_THREAT = "(B)(7)(E)"

# "<name> Area of Responsibility" -> office code, as the extracts label the field offices.
OFFICES = {
    "Atlanta": "ATL", "Baltimore": "BAL", "Boston": "BOS", "Buffalo": "BUF", "Chicago": "CHI", "Dallas": "DAL",
    "Denver": "DEN", "Detroit": "DET", "El Paso": "ELP", "Houston": "HOU", "Los Angeles": "LOS", "Miami": "MIA",
    "Newark": "NEW", "New Orleans": "NOL", "New York City": "NYC", "Philadelphia": "PHI", "Phoenix": "PHO",
    "Seattle": "SEA", "San Francisco": "SFR", "Salt Lake City": "SLC", "San Antonio": "SNA", "San Diego": "SND",
    "St. Paul": "SPM", "Washington": "WAS", "Harlingen": "HAL",
}

# Citizenship names of the FY2016 extracts that are not a country's ISO 3166 name, official name
# or common name. Names with no current code stay unmapped: KOSOVO (no ISO 3166-1 code),
# UNKNOWN, and former states without a single successor (USSR, YUGOSLAVIA, CZECHOSLOVAKIA,
# SERBIA AND MONTENEGRO, NETHERLANDS ANTILLES).
CITIZENSHIP_NAMES = {
    "ANTIGUA-BARBUDA": "AG", "BOSNIA-HERZEGOVINA": "BA", "BRUNEI": "BN", "BURMA": "MM", "CAPE VERDE": "CV",
    "CHINA, PEOPLES REPUBLIC OF": "CN", "DEM REP OF THE CONGO": "CD", "IVORY COAST": "CI", "KOREA": "KR",
    "SOUTH KOREA": "KR", "NORTH KOREA": "KP", "MACAU": "MO", "MACEDONIA": "MK", "PITCAIRN ISLANDS": "PN",
    "RUSSIA": "RU", "ST. KITTS-NEVIS": "KN", "ST. LUCIA": "LC", "ST. VINCENT-GRENADINES": "VC", "SWAZILAND": "SZ",
    "TURKEY": "TR",
}
_ISO_NAMES = {getattr(c, attr).upper(): c.alpha_2 for c in pycountry.countries
              for attr in ("name", "official_name", "common_name") if getattr(c, attr, None)}


def office_of(label: str) -> str:
    """Office code, "HQ", "(blank)" for a blank label, "(unknown) LABEL" for any other label."""
    label = " ".join(label.split())
    if not label:
        return "(blank)"
    name = label.removesuffix(" Area of Responsibility")
    if name == "HQ":
        return "HQ"
    return OFFICES.get(name, f"(unknown) {label}")


def citizenship_of(name: str) -> str | None:
    key = " ".join(name.upper().split())
    return CITIZENSHIP_NAMES.get(key) or _ISO_NAMES.get(key)


def read_rows(path: Path):
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        for _ in range(PREAMBLE_LINES):
            fh.readline()
        yield from csv.DictReader(fh, delimiter="|")


def parse_date(text: str) -> dt.date | None:
    text = text.strip()
    if not text:
        return None
    month, day, year = (int(part) for part in text.split("/"))
    return dt.date(year, month, day)


def aggregates(path: Path) -> dict:
    """Rows by office, by citizenship and by office x citizenship of one extract."""
    by_office: Counter = Counter()
    by_citizenship: Counter = Counter()
    by_office_citizenship: dict[str, Counter] = defaultdict(Counter)
    unmapped: Counter = Counter()
    rows = 0
    for row in read_rows(path):
        rows += 1
        office = office_of(next((row[c] for c in OFFICE_COLUMNS if c in row), "") or "")
        raw = (row.get("Citizenship") or "").strip()
        country = citizenship_of(raw)
        if country is None:
            unmapped[raw or "(blank)"] += 1
        by_office[office] += 1
        by_citizenship[country or "??"] += 1
        if country and office in OFFICES.values():
            by_office_citizenship[office][country] += 1
    return {
        "file": path.name,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "rows": rows,
        "by_office": dict(sorted(by_office.items())),
        "by_citizenship": dict(by_citizenship.most_common()),
        "unmapped_citizenship": dict(unmapped.most_common()),
        "by_office_citizenship": {o: dict(c.most_common()) for o, c in sorted(by_office_citizenship.items())},
    }


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile by linear interpolation between order statistics (numpy's default)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return float(ordered[0])
    return statistics.quantiles(ordered, n=100, method="inclusive")[q - 1] if q < 100 else float(ordered[-1])


def _day_figures(days: list[int]) -> tuple[float | None, float | None]:
    if not days:
        return None, None
    return round(float(statistics.median(days)), 1), round(percentile(days, 90), 1)


def removal_figures(path: Path, *, fiscal_year: int = 2016, tier_of: dict[str, str] | None = None) -> dict:
    """Removals of a fiscal year by country, office and country x disposition with the median and
    90th percentile of days from apprehension to removal (rows lacking a date or removed before
    their apprehension date count as removals but not in the days), redaction counts, and, given
    a country -> tier table, the same figures by tier (unmapped citizenships left out, countries
    not in the table counted as cooperative)."""
    first, last = dt.date(fiscal_year - 1, 10, 1), dt.date(fiscal_year, 9, 30)
    count: Counter = Counter()
    days: dict = defaultdict(list)
    offices: Counter = Counter()
    counts = Counter()
    for row in read_rows(path):
        removed = parse_date(row["Removal Date"])
        apprehended = parse_date(row["Apprehension Date"])
        threat = row["RC Threat Level"].strip()
        counts["threat_redacted"] += threat == REDACTED_THREAT
        counts["threat_na"] += threat == "NA"
        counts["birth_date_given"] += bool(row["Birth Date"].strip()) and not row["Birth Date"].strip().startswith("(B)")
        counts["no_apprehension_date"] += apprehended is None
        elapsed = (removed - apprehended).days if removed and apprehended else None
        counts["negative_days"] += elapsed is not None and elapsed < 0
        if removed is None or not first <= removed <= last:
            continue
        raw = row["Citizenship"].strip()
        iso = citizenship_of(raw)
        country = iso or raw
        disposition = row["Processing Disposition Code"].strip() or None
        keys = [("country", country), ("pair", (country, disposition))]
        if tier_of is not None and iso:
            keys.append(("tier", tier_of.get(iso, "cooperative")))
        for key in keys:
            count[key] += 1
            if elapsed is not None and elapsed >= 0:
                days[key].append(elapsed)
        office = office_of(row["Area of Responsibility"])
        offices[None if office == "(blank)" else office] += 1

    def figures(kind: str) -> dict:
        return {key[1]: (n, *_day_figures(days[key])) for key, n in count.items() if key[0] == kind}

    out = {"total": sum(n for key, n in count.items() if key[0] == "country"), "by_country": figures("country"),
           "by_country_disposition": figures("pair"), "by_office": dict(offices), "counts": dict(counts)}
    if tier_of is not None:
        out["by_tier"] = {tier: {"removals": n, "with_days": len(days[("tier", tier)]), "median_days": med, "p90_days": p90}
                          for tier, (n, med, p90) in figures("tier").items()}
    return out


def derive(data_dir: Path) -> dict:
    out: dict = {"source": "ICE ERO-LESA statistical extracts FY2016, FOIA 2019-ICFO-53623", "files": {}}
    for kind, name in FILES.items():
        out["files"][kind] = table = aggregates(data_dir / name)
        print(f"{name}: {table['rows']:,} rows, {sum(table['unmapped_citizenship'].values()):,} with unmapped citizenship",
              file=sys.stderr)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=os.environ.get("CASELOAD_FOIA_DIR"))
    parser.add_argument("--out", type=Path, default=ROOT / "src/caseload/ingest/data/foia_aggregates.json")
    args = parser.parse_args(argv)
    if args.data_dir is None:
        print("error: name the directory of the FY2016 extracts (or set CASELOAD_FOIA_DIR)", file=sys.stderr)
        return 2
    data_dir = Path(args.data_dir)
    missing = [n for n in FILES.values() if not (data_dir / n).is_file()]
    if missing:
        print(f"error: {data_dir} lacks {', '.join(missing)}", file=sys.stderr)
        return 2
    table = derive(data_dir)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(table, indent=1, sort_keys=False) + "\n")
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
