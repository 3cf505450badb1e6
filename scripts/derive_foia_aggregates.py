#!/usr/bin/env python3
"""Derive the generator's office and citizenship mix from the real FY2016 ICE FOIA extracts.

Reads the three extracts (removals, arrests, encounters) and writes a small table of aggregate
counts into the package (``src/caseload/ingest/data/foia_aggregates.json``): rows by office,
by citizenship (ISO alpha-2) and by office x citizenship, per file. The extracts themselves
never enter the repository; the generator reads only this table at run time.

Usage: python scripts/derive_foia_aggregates.py [DATA_DIR] [--out PATH]
DATA_DIR defaults to ../shared/data/ice-foia relative to the repository root.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from caseload.countries.names import to_alpha2  # noqa: E402  (pure module, no Django)
from caseload.ingest.foia import office_code  # noqa: E402  (its parsing part imports no Django)

FILES = {
    "removals": "ICERemovals_FY2016.csv.gz",
    "arrests": "EROArrests_FY2016.csv.gz",
    "encounters": "EROEncounters_FY2016.csv.gz",
}
OFFICE_COLUMNS = ("Area of Responsibility", "Event Area of Responsibility")
PREAMBLE_LINES = 5


def office_of(label: str) -> str:
    """Office code, "HQ", or "" for a blank or unknown Area of Responsibility."""
    code, flag = office_code(label)
    return code or ("HQ" if flag == "hq" else "")


def read_rows(path: Path):
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        for _ in range(PREAMBLE_LINES):
            fh.readline()
        yield from csv.DictReader(fh, delimiter="|")


def derive(data_dir: Path) -> dict:
    out: dict = {"source": "ICE ERO-LESA statistical extracts FY2016, FOIA 2019-ICFO-53623", "files": {}}
    for kind, name in FILES.items():
        path = data_dir / name
        by_office: Counter = Counter()
        by_citizenship: Counter = Counter()
        by_office_citizenship: dict[str, Counter] = defaultdict(Counter)
        unmapped: Counter = Counter()
        rows = 0
        for row in read_rows(path):
            rows += 1
            label = next((row[c] for c in OFFICE_COLUMNS if c in row), "") or ""
            office = office_of(label)
            raw_citizenship = (row.get("Citizenship") or "").strip()
            country = to_alpha2(raw_citizenship)
            if country is None:
                unmapped[raw_citizenship or "(blank)"] += 1
                country = "??"
            by_office[office or "(blank)"] += 1
            by_citizenship[country] += 1
            if office and office != "HQ" and country != "??":
                by_office_citizenship[office][country] += 1
        out["files"][kind] = {
            "file": name,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "rows": rows,
            "by_office": dict(sorted(by_office.items())),
            "by_citizenship": dict(by_citizenship.most_common()),
            "unmapped_citizenship": dict(unmapped.most_common()),
            "by_office_citizenship": {o: dict(c.most_common()) for o, c in sorted(by_office_citizenship.items())},
        }
        print(f"{name}: {rows:,} rows, {sum(unmapped.values()):,} with unmapped citizenship", file=sys.stderr)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=ROOT.parent / "shared/data/ice-foia")
    parser.add_argument("--out", type=Path, default=ROOT / "src/caseload/ingest/data/foia_aggregates.json")
    args = parser.parse_args(argv)
    missing = [n for n in FILES.values() if not (args.data_dir / n).is_file()]
    if missing:
        print(f"error: {args.data_dir} lacks {', '.join(missing)}", file=sys.stderr)
        return 2
    table = derive(args.data_dir)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(table, indent=1, sort_keys=False) + "\n")
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
