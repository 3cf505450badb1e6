"""Helpers for tests: hand-made ICE extract files (the real FY2016 slice is in tests/data)."""

from __future__ import annotations

import gzip
from pathlib import Path

from django.db import transaction

REMOVALS_HEADER = ["Area of Responsibility", "Apprehension Date", "Processing Disposition Code", "Birth Date",
                   "Citizenship", "Gender", "RC Threat Level", "Final Charge Section", "Departed Date", "Removal Date"]
ARRESTS_HEADER = ["Area of Responsibility", "Apprehension Date", "Apprehension Method", "Apprehension Landmark",
                  "Operation", "Processing Disposition", "Birth Date", "Citizenship", "Gender"]
ENCOUNTERS_HEADER = ["Event Area of Responsibility", "Event Date", "Landmark", "Operation", "Processing Disposition",
                     "Birth Date", "Citizenship", "Gender"]
BIRTH = "(B)(6);(B)(7)(C) "
THREAT = "(B)(7)(E) "


def preamble(title: str, width: int) -> list[str]:
    pad = "|" * (width - 1)
    return [f'"ERO-LESA Statistical Tracking Unit"{pad}', f'"For Official Use Only (FOUO)/Pre-decisional"{pad}',
            f'"2019-ICFO-53623"{pad}', pad, f'"{title}"{pad}']


def quote(value: str) -> str:
    """Text fields are quoted in the extracts; dates and blanks are not."""
    if value == "" or value[:1].isdigit():
        return value
    return '"' + value.replace('"', '""') + '"'


def extract_text(header: list[str], rows: list[list[str]], *, title: str = "ICE Removals for FY2016",
                 lines_before: list[str] | None = None) -> str:
    lines = preamble(title, len(header)) if lines_before is None else lines_before
    lines = [*lines, "|".join(quote(h) for h in header)]
    lines += ["|".join(quote(v) for v in row) for row in rows]
    return "\n".join(lines) + "\n"


def write(path: Path, text: str, *, gz: bool = True) -> Path:
    data = text.encode()
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


def removal(office="Washington Area of Responsibility", apprehended="1/15/2016", disposition="REINST",
            citizenship="MEXICO", gender="Male", charge="212a9Aii", departed="3/1/2016", removed="3/1/2016") -> list[str]:
    return [office, apprehended, disposition, BIRTH, citizenship, gender, THREAT, charge, departed, removed]


class RolledBack:
    """Module-scoped data: open an outer transaction, load, and roll everything back at the end.

    Each test's own transaction nests inside it (a savepoint), so tests see the data and
    nothing stays in the test database afterwards.
    """

    def __init__(self, blocker) -> None:
        self.blocker = blocker

    def __enter__(self):
        self.blocker.unblock()
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)
        self.blocker.restore()
