#!/usr/bin/env python3
"""Cut the committed test slice from the FY2016 ICE ERO-LESA extracts (see README.md here).

Keeps each file's five preamble lines and header row byte for byte, then every k-th data row
(the first, the (k+1)-th, ...), and writes it gzip-compressed with a zero timestamp so the cut
is reproducible: python tests/data/cut_foia_slice.py DIR_OF_THE_RELEASED_FILES
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
EVERY = {"ICERemovals_FY2016": 80, "EROArrests_FY2016": 37, "EROEncounters_FY2016": 120}
HEAD_LINES = 6  # five preamble lines and the header


def cut(source: Path, target: Path, every: int) -> int:
    kept = 0
    with gzip.open(source, "rb") as fh:
        lines = fh.read().splitlines(keepends=True)
    out = lines[:HEAD_LINES]
    for n, line in enumerate(lines[HEAD_LINES:]):
        if n % every == 0:
            out.append(line)
            kept += 1
    target.write_bytes(gzip.compress(b"".join(out), compresslevel=9, mtime=0))
    return kept


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    for stem, every in EVERY.items():
        kept = cut(Path(argv[0]) / f"{stem}.csv.gz", HERE / f"{stem}_slice.csv.gz", every)
        print(f"{stem}: every {every}th row, {kept:,} rows", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
