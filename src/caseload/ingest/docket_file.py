"""The agency's docket as files: export the open docket to CSV, import such a file (docs/docket-file.md).

**Export** writes one row per open case (the person's facts and the case's) in case-id order,
and optionally the convictions of those people to a second file keyed by A-number. A name
ending in ``.gz`` is gzip-compressed (with a zero timestamp, so the same docket gives the
same bytes). The file is written beside its destination and renamed into place at the end.

**Import** works in two passes, like the ICE extract importer:

1. :func:`inspect` reads the whole file once and writes nothing: it checks the gzip stream is
   complete, that the content is text, and that the header names known columns including every
   required one. A file that fails is refused (:class:`~caseload.ingest.foia.RefusedFile`).
2. :func:`do_import_docket` parses the rows and loads them in batches of :func:`caseload.core.bulk.batch_rows`,
   each batch in one transaction (people, convictions, cases and the search index of names
   together), through ``executemany`` (SQLite) or ``COPY`` (PostgreSQL). A bad row is rejected
   with its line number and reason and the rest load. A row's key is (A-number, office, opened
   date): a row whose key exists with the same content is ``unchanged``; with different content
   it is a ``conflict``, listed and not applied unless ``update`` is set (then each changed
   case is written through the audited, versioned case write). Killed at any point and run
   again, the import completes with the exact counts: committed batches are found unchanged.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import gzip
import hashlib
import io
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError

from caseload.core.errors import Conflict, UsageError
from caseload.docket import anumber
from caseload.ingest.foia import RefusedFile, _looks_binary, _stream

MAX_ERRORS_LISTED = 100
_SNIFF_BYTES = 1 << 16
_LOOKUP_CHUNK = 5_000            # parameters per IN (…) lookup
TRUE, FALSE = "true", "false"

# (column, kind, required). Kinds: text, date, bool, int, a_number, choice:<name>.
PERSON_COLUMNS = (
    ("a_number", "a_number", True),
    ("family_name", "name", True),
    ("given_name", "name", True),
    ("birth_date", "date", False),
    ("gender", "choice:gender", False),
    ("citizenship", "country", True),
    ("entry_date", "date", False),
    ("entry_manner", "choice:entry_manner", False),
    ("last_apprehension_date", "date", False),
    ("apprehension_place", "choice:apprehension_place", False),
    ("national_security", "bool", False),
    ("gang", "bool", False),
    ("citizenship_claim", "choice:citizenship_claim", False),
    ("citizenship_claim_raised_on", "date", False),
    ("pending_criminal_charges", "int", False),
    ("visa_fraud_finding", "bool", False),
    ("public_benefits_abuse", "bool", False),
)
CASE_COLUMNS = (
    ("office", "office", True),
    ("unit", "choice:unit", True),
    ("officer_external_id", "text", False),
    ("supervision_type", "choice:supervision_type", True),
    ("stage", "choice:stage", True),
    ("opened_on", "date", True),
    ("proceedings_started_on", "date", False),
    ("stage_changed_on", "date", False),
    ("final_order_date", "date", False),
    ("appeal_pending", "bool", False),
    ("appeal_filed_on", "date", False),
    ("stay_of_removal_until", "date", False),
    ("reporting_cadence_days", "int", True),
    ("next_report_due", "date", False),
    ("last_contact_on", "date", False),
)
COLUMNS = PERSON_COLUMNS + CASE_COLUMNS
HEADER = [c for c, _, _ in COLUMNS]
REQUIRED = [c for c, _, r in COLUMNS if r]
CONVICTION_COLUMNS = (
    ("a_number", "a_number", True),
    ("convicted_on", "date", True),
    ("offense_category", "choice:offense_category", True),
    ("severity", "choice:severity", True),
    ("aggravated_felony", "bool", False),
    ("sentence_days", "int", False),
    ("custody_days", "int", False),
    ("incident_id", "incident", False),
)
CONVICTION_HEADER = [c for c, _, _ in CONVICTION_COLUMNS]

# Database columns written per table (the SELECT of the export reads the same ones).
PERSON_DB = ("a_number", "last_name", "first_name", "birth_date", "gender", "citizenship", "entry_date", "entry_manner",
             "last_apprehension_date", "apprehension_place", "national_security_flag", "gang_flag", "citizenship_claim",
             "citizenship_claim_raised_on", "pending_criminal_charges", "visa_fraud_finding", "public_benefits_abuse")
CASE_DB = ("office_id", "unit", "officer_id", "supervision_type", "stage", "opened_on", "proceedings_started_on",
           "stage_changed_on", "final_order_date", "appeal_pending", "appeal_filed_on", "stay_of_removal_until",
           "reporting_cadence_days", "next_report_due", "last_contact_on")
CONVICTION_DB = ("convicted_on", "offense_category", "severity", "aggravated_felony", "sentence_days", "custody_days",
                 "incident_id")


def _choices() -> dict[str, tuple[str, ...]]:
    from caseload.docket import taxonomy
    from caseload.docket.models import ApprehensionPlace, CitizenshipClaim, EntryManner, Severity, SupervisionType
    from caseload.docket.intake import OPEN_STAGES
    from caseload.offices.models import Unit

    return {"gender": ("F", "M", "X"), "entry_manner": tuple(EntryManner.values),
            "apprehension_place": ("", *ApprehensionPlace.values), "citizenship_claim": tuple(CitizenshipClaim.values),
            "unit": tuple(Unit.values), "supervision_type": tuple(SupervisionType.values),
            "stage": tuple(str(s) for s in OPEN_STAGES), "offense_category": tuple(taxonomy.categories()),
            "severity": tuple(Severity.values)}


# --- formatting values (export and the comparison of an existing row) ---------------------------

def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return TRUE if value else FALSE
    return str(value)


def _bool_text(value) -> str:
    return TRUE if value else FALSE


def _open(path: Path, mode: str, *, compressed: bool):
    """A text file, gzip-compressed when asked (mtime 0: the same content gives the same bytes)."""
    if compressed:
        raw = open(path, mode.replace("t", "") + "b")  # noqa: SIM115 (closed with the wrapper)
        gz = gzip.GzipFile(filename="", mode=mode[0] + "b", fileobj=raw, mtime=0, compresslevel=5)
        return _Closing(io.TextIOWrapper(gz, encoding="utf-8", newline=""), gz, raw)
    return _Closing(open(path, mode, encoding="utf-8", newline=""))  # noqa: SIM115


class _Closing:
    def __init__(self, *layers) -> None:
        self.layers = layers

    def __enter__(self):
        return self.layers[0]

    def __exit__(self, *exc) -> None:
        for layer in self.layers:
            layer.close()


# --- export -------------------------------------------------------------------------------------

def _export_sql(vendor: str, office_id: int | None) -> tuple[str, list]:
    scan = "docket_case c NOT INDEXED" if vendor == "sqlite" else "docket_case c"
    person = ", ".join(f"p.{c}" for c in PERSON_DB)
    case = ", ".join(f"c.{c}" for c in CASE_DB)
    where = "c.status = 'open'" + (" AND c.office_id = %s" if office_id else "")
    return (f"SELECT c.id, p.id, {person}, {case} FROM {scan} JOIN docket_person p ON p.id = c.person_id "
            f"WHERE {where} ORDER BY c.id", [office_id] if office_id else [])


def _db_row_texts(row: tuple, offices: dict[int, str], officers: dict[int, str]) -> list[str]:
    """A database row (PERSON_DB then CASE_DB) as the export's cell texts, in HEADER order."""
    p, c = row[:len(PERSON_DB)], row[len(PERSON_DB):]
    cells = [anumber.display(p[0]), p[1], p[2], _text(p[3]), p[4], p[5], _text(p[6]), p[7], _text(p[8]), p[9],
             _bool_text(p[10]), _bool_text(p[11]), p[12], _text(p[13]), str(p[14]), _bool_text(p[15]), _bool_text(p[16]),
             offices[c[0]], c[1], officers.get(c[2], "") if c[2] else "", c[3], c[4], _text(c[5]), _text(c[6]),
             _text(c[7]), _text(c[8]), _bool_text(c[9]), _text(c[10]), _text(c[11]), str(c[12]), _text(c[13]),
             _text(c[14])]
    return cells


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def export_docket(out: Path, *, office: str | None = None, convictions_out: Path | None = None, actor=None,
                  actor_label: str | None = None, progress: Callable[[int, int], None] | None = None) -> dict:
    """Write the open docket (of one office, or all) to ``out`` and, optionally, the convictions
    of its people to ``convictions_out``; one audit event records the export."""
    from django.db import connection

    from caseload.core import audit
    from caseload.docket.models import Case
    from caseload.offices.models import FieldOffice, Officer
    from caseload.offices.services import check_office

    started = time.perf_counter()
    office_obj = check_office(office) if office else None
    offices = dict(FieldOffice.objects.values_list("id", "code"))
    officers = {k: v for k, v in Officer.objects.values_list("id", "external_id") if v}
    total = Case.objects.filter(status="open", **({"office": office_obj} if office_obj else {})).count()
    out, rows, person_ids = Path(out), 0, []
    tmp = out.with_name(out.name + ".part")
    sql, params = _export_sql(connection.vendor, office_obj.pk if office_obj else None)
    with _open(tmp, "wt", compressed=out.name.endswith(".gz")) as fh, connection.cursor() as cur:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(HEADER)
        cur.execute(sql, params)
        while batch := cur.fetchmany(20_000):
            writer.writerows(_db_row_texts(r[2:], offices, officers) for r in batch)
            if convictions_out:
                person_ids += [r[1] for r in batch]
            rows += len(batch)
            if progress:
                progress(rows, total)
    os.replace(tmp, out)
    doc = {"file": str(out), "office": office_obj.code if office_obj else None, "rows": rows}
    if convictions_out:
        doc.update(convictions_file=str(convictions_out), convictions=_export_convictions(Path(convictions_out), person_ids))
    doc["sha256"] = _sha256(out)
    audit.record(action="docket.exported", actor=actor, actor_label=actor_label, object_type="docket",
                 office_id=office_obj.pk if office_obj else None, details=doc)
    doc["seconds"] = round(time.perf_counter() - started, 3)
    return doc


def _export_convictions(path: Path, person_ids: list[int]) -> int:
    from django.db import connection

    wanted = set(person_ids)
    scan = "docket_conviction v NOT INDEXED" if connection.vendor == "sqlite" else "docket_conviction v"
    cols = ", ".join(f"v.{c}" for c in CONVICTION_DB)
    tmp, n = path.with_name(path.name + ".part"), 0
    with _open(tmp, "wt", compressed=path.name.endswith(".gz")) as fh, connection.cursor() as cur:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(CONVICTION_HEADER)
        cur.execute(f"SELECT v.person_id, p.a_number, {cols} FROM {scan} JOIN docket_person p ON p.id = v.person_id "
                    "ORDER BY v.person_id, v.convicted_on, v.id")
        while batch := cur.fetchmany(20_000):
            for r in batch:
                if r[0] in wanted:
                    writer.writerow([anumber.display(r[1]), _text(r[2]), r[3], r[4], _bool_text(r[5]), str(r[6]),
                                     str(r[7]), r[8]])
                    n += 1
    os.replace(tmp, path)
    return n


# --- inspecting a file --------------------------------------------------------------------------

@dataclass
class Inspection:
    path: Path
    compressed: bool
    sha256: str
    lines: int
    header: list[str]

    @property
    def data_lines(self) -> int:
        return max(0, self.lines - 1)


def _refuse(path: Path, code: str, reason: str) -> RefusedFile:
    return RefusedFile(code, f"{path.name}: refused, nothing imported: {reason}", file=str(path))


def inspect(path: Path | str, *, header: list[str] = HEADER, required: list[str] = REQUIRED) -> Inspection:
    """Read the whole file once; refuse a missing, empty, binary, truncated or wrongly headed file."""
    path = Path(path)
    if not path.is_file():
        raise RefusedFile("file_not_found", f"{path}: no such file", file=str(path))
    with path.open("rb") as fh:
        magic = fh.read(2)
    if not magic:
        raise _refuse(path, "empty_file", "the file is empty")
    compressed = magic == b"\x1f\x8b"
    digest, head, lines, last = hashlib.sha256(), bytearray(), 0, b""
    for chunk in _stream(path, compressed):
        digest.update(chunk)
        if len(head) < _SNIFF_BYTES:
            head += chunk[: _SNIFF_BYTES - len(head)]
            if b"\x00" in head:
                raise _refuse(path, "binary_file", "the content is binary, not CSV text")
        lines += chunk.count(b"\n")
        last = chunk[-1:]
    if last and last != b"\n":
        lines += 1
    try:
        text = bytes(head).decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the sniff boundary
            raise _refuse(path, "not_utf8", "the content is not UTF-8 text") from None
        text = bytes(head[:exc.start]).decode("utf-8")
    if _looks_binary(text):
        raise _refuse(path, "binary_file", "the content is binary, not CSV text")
    first = next(csv.reader([text.splitlines()[0] if text.splitlines() else ""]), [])
    first = [c.strip() for c in first]
    unknown = [c for c in first if c not in header]
    missing = [c for c in required if c not in first]
    duplicated = sorted({c for c in first if first.count(c) > 1})
    if unknown or missing or duplicated:
        problems = ([f"unknown columns {', '.join(unknown)}"] if unknown else []) + \
                   ([f"missing required columns {', '.join(missing)}"] if missing else []) + \
                   ([f"repeated columns {', '.join(duplicated)}"] if duplicated else [])
        raise _refuse(path, "wrong_header", "; ".join(problems) + " (see docs/docket-file.md)")
    return Inspection(path, compressed, digest.hexdigest(), lines, first)


# --- parsing rows ---------------------------------------------------------------------------------

class RowError(ValueError):
    pass


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_BOOLS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


def _converters(choices: dict, countries: set[str], offices: set[str]) -> dict[str, Callable[[str, str], object]]:
    """kind -> function(name, raw cell) giving the stored value or raising RowError. Dates stay
    ISO text (what SQLite stores and COPY reads; ISO text also compares in date order)."""
    from caseload.countries.names import to_alpha2

    def date(name: str, raw: str) -> str:
        if not _DATE.fullmatch(raw):
            raise RowError(f"{name}: {raw!r} is not a date (YYYY-MM-DD)")
        try:
            dt.date.fromisoformat(raw)
        except ValueError:
            raise RowError(f"{name}: {raw!r} is not a date (YYYY-MM-DD)") from None
        return raw

    def boolean(name: str, raw: str) -> bool:
        value = _BOOLS.get(raw.lower())
        if value is None:
            raise RowError(f"{name}: {raw!r} is not true or false")
        return value

    def integer(name: str, raw: str) -> int:
        if not raw.isdigit():
            raise RowError(f"{name}: {raw!r} is not a whole number ≥ 0")
        return int(raw)

    def a_number(name: str, raw: str) -> str:
        if len(raw) == 12 and raw[0] == "A" and raw[4] == "-" and raw[8] == "-":
            digits = raw[1:4] + raw[5:8] + raw[9:12]
            if digits.isdigit() and digits.isascii() and digits != "000000000":
                return digits
        try:
            return anumber.normalize(raw)
        except ValidationError:
            raise RowError(f"{name}: {raw!r} is not an A-number") from None

    def person_name(name: str, raw: str) -> str:
        if len(raw) > 80:
            raise RowError(f"{name} is longer than 80 characters")
        return raw

    def incident(name: str, raw: str) -> str:
        if len(raw) > 24:
            raise RowError(f"{name} is longer than 24 characters")
        return raw

    def country(name: str, raw: str) -> str:
        code = raw if raw in countries else (raw.upper() if raw.upper() in countries else to_alpha2(raw))
        if code not in countries:
            raise RowError(f"{name}: unknown country {raw!r}")
        return code

    def office(name: str, raw: str) -> str:
        code = raw.upper()
        if code not in offices:
            raise RowError(f"{name}: unknown field office {raw!r}")
        return code

    def choice(allowed: tuple[str, ...]) -> Callable[[str, str], str]:
        members = frozenset(allowed)

        def check(name: str, raw: str) -> str:
            if raw not in members:
                raise RowError(f"{name}: {raw!r} is not one of {', '.join(a for a in allowed if a)}")
            return raw
        return check

    table = {"date": date, "bool": boolean, "int": integer, "a_number": a_number, "name": person_name,
             "country": country, "office": office, "text": lambda name, raw: raw[:64], "incident": incident}
    table.update({f"choice:{k}": choice(v) for k, v in choices.items()})
    return table


_MISS = object()   # a cell the fast path of a column cannot decide: the per-cell converter says why


@functools.cache
def _iso_dates() -> frozenset[str]:
    """Every ISO date from 1900 to 2099: a set lookup checks a cell faster than parsing it."""
    start, days = dt.date(1900, 1, 1), (dt.date(2100, 1, 1) - dt.date(1900, 1, 1)).days
    return frozenset((start + dt.timedelta(days=d)).isoformat() for d in range(days))


_BOOL_SPELLINGS = {spelling: value for word, value in _BOOLS.items()
                   for spelling in (word, word.upper(), word.capitalize())}


class Parser:
    """Turns batches of rows into database values column by column (list comprehensions over
    each column, the per-cell converter only for the cells they cannot decide), rejecting a bad
    row with the reason of its first bad cell."""

    def __init__(self, header: list[str], columns=COLUMNS) -> None:
        from caseload.core import clock
        from caseload.countries.models import Country
        from caseload.offices.models import FieldOffice

        choices = _choices()
        countries = set(Country.objects.values_list("code", flat=True))
        offices = set(FieldOffice.objects.values_list("code", flat=True))
        self.convert = _converters(choices, countries, offices)
        self.columns = columns
        self.width = len(header)
        self.positions = {name: header.index(name) if name in header else None for name, _, _ in columns}
        self.today = clock.today().isoformat()
        dates = _iso_dates()
        fast = {
            "date": lambda col: [x if x in dates else (None if not x else _MISS) for x in col],
            "bool": lambda col: [_BOOL_SPELLINGS.get(x, _MISS) if x else False for x in col],
            "int": lambda col: [int(x) if x.isdigit() and x.isascii() else (0 if not x else _MISS) for x in col],
            "a_number": lambda col: [x[1:4] + x[5:8] + x[9:12] if len(x) == 12 and x[0] == "A" and x[4] == "-"
                                     and x[8] == "-" and x[1:4].isdigit() and x[5:8].isdigit() and x[9:12].isdigit()
                                     and x.isascii() and x != "A000-000-000" else _MISS for x in col],
            "name": lambda col: [x if len(x) <= 80 and x[:1] != " " and x[-1:] != " " else _MISS for x in col],
            "country": lambda col: [x if x in countries or not x else _MISS for x in col],
            "office": lambda col: [x if x in offices or not x else _MISS for x in col],
            "text": lambda col: [x[:64] for x in col],
            "incident": lambda col: [x if len(x) <= 24 else _MISS for x in col],
        }
        for key, allowed in choices.items():
            fast[f"choice:{key}"] = lambda col, members=frozenset(allowed): [x if x in members or not x else _MISS
                                                                              for x in col]
        self.fast = fast

    def columns_of(self, rows: list[list[str]], bad: dict[int, str]) -> dict[str, list]:
        """Converted columns of ``rows``; ``bad`` gets {row index: reason} for rows that fail."""
        width, n = self.width, len(rows)
        for i, r in enumerate(rows):
            if len(r) != width:
                bad.setdefault(i, f"expected {width} cells, found {len(r)}")
                rows[i] = (r + [""] * width)[:width]
        cells = list(zip(*rows, strict=True)) if rows else [()] * width
        out: dict[str, list] = {}
        for name, kind, required in self.columns:
            pos = self.positions[name]
            if pos is None:
                out[name] = [False if kind == "bool" else 0 if kind == "int" else None if kind == "date" else ""] * n
                continue
            col = cells[pos]
            values = self.fast[kind](col)
            if required and "" in col:
                for i in [i for i, x in enumerate(col) if not x]:
                    bad.setdefault(i, f"{name} is required")
            default = False if kind == "bool" else 0 if kind == "int" else None if kind == "date" else ""
            for i in ([i for i, v in enumerate(values) if v is _MISS] if _MISS in values else ()):
                raw = col[i].strip()  # the fast paths take exact cells; padded ones come here
                try:
                    if not raw:
                        if required:
                            raise RowError(f"{name} is required")
                        values[i] = default
                    else:
                        values[i] = self.convert[kind](name, raw)
                except RowError as exc:
                    bad.setdefault(i, str(exc))
                    values[i] = default
            out[name] = values
        return out

    def case_rows(self, lines: list[int], rows: list[list[str]], result: ImportResult) -> tuple[dict[str, list], list[int]]:
        """The batch's converted columns and the indexes of its valid rows; the others rejected in ``result``."""
        bad: dict[int, str] = {}
        c = self.columns_of(rows, bad)
        today = self.today
        for name in ("birth_date", "entry_date", "last_apprehension_date", "opened_on", "final_order_date",
                     "proceedings_started_on", "appeal_filed_on", "citizenship_claim_raised_on", "last_contact_on",
                     "stage_changed_on"):
            if max(filter(None, c[name]), default="") <= today:
                continue
            for i in [i for i, x in enumerate(c[name]) if x and x > today]:
                bad.setdefault(i, f"{name} {c[name][i]} is after today ({today})")
        c["gender"] = [x or "X" for x in c["gender"]]
        c["entry_manner"] = [x or "unknown" for x in c["entry_manner"]]
        c["citizenship_claim"] = [x or "none" for x in c["citizenship_claim"]]
        c["proceedings_started_on"] = [p or o for p, o in zip(c["proceedings_started_on"], c["opened_on"], strict=True)]
        c["stage_changed_on"] = [s or f or o for s, f, o in zip(c["stage_changed_on"], c["final_order_date"],
                                                                 c["opened_on"], strict=True)]
        checks = [
            ("entry_date is before birth_date",
             [i for i, (b, e) in enumerate(zip(c["birth_date"], c["entry_date"], strict=True)) if b and e and e < b]),
            ("a final_order case needs final_order_date",
             [i for i, (s, f) in enumerate(zip(c["stage"], c["final_order_date"], strict=True)) if s == "final_order" and not f]),
            ("only a final_order case has a final_order_date",
             [i for i, (s, f) in enumerate(zip(c["stage"], c["final_order_date"], strict=True)) if s != "final_order" and f]),
            ("final_order_date is before proceedings_started_on",
             [i for i, (f, p) in enumerate(zip(c["final_order_date"], c["proceedings_started_on"], strict=True))
              if f and p and f < p]),
            ("an appeal case needs appeal_pending true and appeal_filed_on",
             [i for i, (s, ap, af) in enumerate(zip(c["stage"], c["appeal_pending"], c["appeal_filed_on"], strict=True))
              if s == "appeal" and not (ap and af)]),
            ("reporting_cadence_days must be above 0", [i for i, d in enumerate(c["reporting_cadence_days"]) if not d]),
        ]
        for reason, where in checks:
            for i in where:
                bad.setdefault(i, reason)
        for i in sorted(bad):
            result.reject(lines[i], bad[i])
        return c, [i for i in range(len(lines)) if i not in bad]


def _texts(v: dict) -> list[str]:
    """Parsed row values as the export's cell texts (for comparing with an existing row)."""
    out = []
    for name, kind, _ in COLUMNS:
        value = v[name]
        if kind == "a_number":
            out.append(anumber.display(value))
        elif kind == "bool":
            out.append(_bool_text(value))
        else:
            out.append(_text(value))
    return out


# --- importing ------------------------------------------------------------------------------------

@dataclass
class ImportResult:
    file: str
    rows: int = 0
    imported: int = 0
    unchanged: int = 0
    conflicts: int = 0
    rejected: int = 0
    updated: int = 0
    errors: list[dict] = field(default_factory=list)
    conflict_list: list[dict] = field(default_factory=list)
    unassigned: int = 0
    unmatched_officers: list[dict] = field(default_factory=list)
    convictions: int = 0
    dry_run: bool = False
    seconds: float = 0.0

    def reject(self, line: int, reason: str, file: str | None = None) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_ERRORS_LISTED:
            self.errors.append({"line": line, "reason": reason, **({"file": file} if file else {})})

    def as_dict(self) -> dict:
        """The documented JSON document of ``caseload import docket``."""
        return {"file": self.file, "rows": self.rows, "imported": self.imported, "unchanged": self.unchanged,
                "conflicts": self.conflicts, "rejected": self.rejected, "errors": self.errors,
                "conflict_list": self.conflict_list, "updated": self.updated, "unassigned": self.unassigned,
                "unmatched_officers": self.unmatched_officers, "convictions": self.convictions,
                "dry_run": self.dry_run, "seconds": self.seconds}


def _read_convictions(ins: Inspection, result: ImportResult, size: int) -> dict[str, list[tuple]]:
    """The convictions file as {A-number digits: [(line, CONVICTION_DB values)]}; bad rows rejected."""
    parser = Parser(ins.header, CONVICTION_COLUMNS)
    by_person: dict[str, list[tuple]] = {}
    for lines, rows in _batches(ins, size):
        bad: dict[int, str] = {}
        c = parser.columns_of(rows, bad)
        for i, (aggravated, severity) in enumerate(zip(c["aggravated_felony"], c["severity"], strict=True)):
            if aggravated and severity != "felony":
                bad.setdefault(i, "an aggravated felony must have severity felony")
        for i in sorted(bad):
            result.reject(lines[i], bad[i], file="convictions")
        for i, (a, on, category, severity, aggravated, sentence, custody, incident) in enumerate(zip(
                c["a_number"], c["convicted_on"], c["offense_category"], c["severity"], c["aggravated_felony"],
                c["sentence_days"], c["custody_days"], c["incident_id"], strict=True)):
            if i not in bad:
                by_person.setdefault(a, []).append((lines[i], (on, category, severity, aggravated, max(sentence, custody),
                                                               custody, incident or f"{a}-L{lines[i]}")))
    return by_person


def _batches(ins: Inspection, size: int) -> Iterator[tuple[list[int], list[list[str]]]]:
    """(line numbers, rows) of ``size`` data rows at a time; line 1 is the header."""
    raw = gzip.open(ins.path, "rb") if ins.compressed else ins.path.open("rb")
    with io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="") as fh:
        reader = csv.reader(fh)
        next(reader, None)
        lines: list[int] = []
        rows: list[list[str]] = []
        for cells in reader:
            lines.append(reader.line_num)
            rows.append(cells)
            if len(rows) >= size:
                yield lines, rows
                lines, rows = [], []
        if rows:
            yield lines, rows


def _in_chunks(sql: str, values: list, cur) -> list[tuple]:
    out = []
    for start in range(0, len(values), _LOOKUP_CHUNK):
        chunk = values[start:start + _LOOKUP_CHUNK]
        cur.execute(sql.replace("(?)", "(" + ", ".join(["%s"] * len(chunk)) + ")"), chunk)
        out += cur.fetchall()
    return out


@dataclass
class _Existing:
    people: dict[str, int]                          # a_number -> person id
    open_case: dict[str, tuple[int, str]]           # a_number -> (case id, office code) of their open case
    by_key: dict[tuple, tuple[int, list[str]]]      # (a_number, office, opened) -> (case id, cell texts)


def _existing(cur, a_numbers: list[str], offices: dict[int, str], officers: dict[int, str]) -> _Existing:
    people = dict(_in_chunks("SELECT a_number, id FROM docket_person WHERE a_number IN (?)", a_numbers, cur))
    found = _Existing(people, {}, {})
    if not people:
        return found
    person_cols = ", ".join(f"p.{c}" for c in PERSON_DB)
    case_cols = ", ".join(f"c.{c}" for c in CASE_DB)
    rows = _in_chunks(f"SELECT c.id, c.status, {person_cols}, {case_cols} FROM docket_case c "
                      "JOIN docket_person p ON p.id = c.person_id WHERE c.person_id IN (?)", list(people.values()), cur)
    for r in rows:
        case_id, status, values = r[0], r[1], r[2:]
        texts = _db_row_texts(values, offices, officers)
        a = values[0]
        opened = str(values[len(PERSON_DB) + CASE_DB.index("opened_on")])[:10]
        office = offices[values[len(PERSON_DB)]]
        if status == "open":
            found.open_case[a] = (case_id, office)
        found.by_key[(a, office, opened)] = (case_id, texts)
    return found


class _Ids:
    """Explicit ids for new rows: max(id) + 1 onwards, read once per batch under the batch's lock."""

    def __init__(self, cur, table: str) -> None:
        cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
        self.next = cur.fetchone()[0] + 1

    def take(self) -> int:
        value, self.next = self.next, self.next + 1
        return value


def do_import_docket(ins: Inspection, *, convictions: Inspection | None = None, dry_run: bool = False,
                     update: bool = False, actor=None, actor_label: str | None = None,
                     progress: Callable[[int], None] | None = None) -> ImportResult:
    """Load an inspected docket file (see the module docstring); returns the counts."""
    from django.db import IntegrityError, connection, transaction

    from caseload.core import audit, bulk
    from caseload.docket.intake import index_new_people
    from caseload.offices.models import FieldOffice, Officer

    started = time.perf_counter()
    label = actor_label or (actor.get_username() if actor is not None else "system")
    result = ImportResult(file=ins.path.name, dry_run=dry_run)
    batch_rows = bulk.batch_rows()  # rows per transaction; an import of this many into an empty docket drops the indexes
    if not dry_run:
        bulk.restore_interrupted()
    parser = Parser(ins.header)
    offices = dict(FieldOffice.objects.values_list("id", "code"))
    office_ids = {code: pk for pk, code in offices.items()}
    officer_rows = list(Officer.objects.exclude(external_id=None).values_list("id", "external_id", "office_id", "status"))
    officers = {pk: ext for pk, ext, _, _ in officer_rows}
    by_external = {ext: (pk, office, status) for pk, ext, office, status in officer_rows}
    convicted = _read_convictions(convictions, result, batch_rows) if convictions else {}
    file_a_numbers: set[str] = set()

    def plan(lines: list[int], c: dict[str, list], good: list[int], cur) -> tuple[list, list, list, list]:
        """Decide each valid row of a batch: (new people, new cases, new convictions, conflicts to update)."""
        a_col, office_col, opened_col, ext_col = c["a_number"], c["office"], c["opened_on"], c["officer_external_id"]
        wanted = {a_col[i] for i in good}
        if loaded is not None:  # into an empty docket: only this run's people can exist already
            wanted &= loaded
        existing = _existing(cur, sorted(wanted), offices, officers)
        new_person_rows: list[tuple[int, int]] = []   # (row index, person id)
        new_case_rows: list[tuple[int, int, int | None]] = []   # (row index, person id, officer id)
        updates = []
        opened_here: dict[str, str] = {}
        for i in good:
            a, office, ext = a_col[i], office_col[i], ext_col[i]
            officer_id = None
            if ext:
                match = by_external.get(ext)
                if match and match[1] == office_ids[office] and match[2] != "separated":
                    officer_id = match[0]
            key = (a, office, opened_col[i])
            if key in existing.by_key:
                case_id, current = existing.by_key[key]
                v = {name: c[name][i] for name in c}
                texts = _texts({**v, "officer_external_id": officers.get(officer_id, "") if officer_id else ""})
                if current == texts:
                    result.unchanged += 1
                else:
                    result.conflicts += 1
                    diff = [HEADER[k] for k, (x, y) in enumerate(zip(current, texts, strict=True)) if x != y]
                    if len(result.conflict_list) < MAX_ERRORS_LISTED:
                        result.conflict_list.append({"line": lines[i], "case_id": case_id,
                                                     "a_number": anumber.display(a), "columns": diff})
                    updates.append((lines[i], case_id, v, officer_id, diff))
                continue
            if a in opened_here or a in existing.open_case:
                case_id, where = existing.open_case.get(a, (None, opened_here.get(a, "")))
                result.reject(lines[i], f"{anumber.display(a)} already has an open case"
                                        + (f" ({case_id})" if case_id else " (an earlier row of this file)") + f" at {where}")
                continue
            if officer_id is None:
                result.unassigned += 1
                if ext and len(result.unmatched_officers) < MAX_ERRORS_LISTED:
                    result.unmatched_officers.append({"line": lines[i], "external_id": ext})
            opened_here[a] = office
            result.imported += 1
            person_id = existing.people.get(a)
            if person_id is None:
                person_id = -1 - len(new_person_rows)   # placeholder until ids are taken
                existing.people[a] = person_id
                new_person_rows.append((i, person_id))
            new_case_rows.append((i, person_id, officer_id))
        if dry_run:
            return [], [], [], updates
        people_ids, case_ids, conviction_ids = (_Ids(cur, t) for t in ("docket_person", "docket_case", "docket_conviction"))
        real = {placeholder: people_ids.next + k for k, (_, placeholder) in enumerate(new_person_rows)}
        # rows as tuples, built column by column (list comprehensions and zip, not a loop per row)
        rows_p = [i for i, _ in new_person_rows]
        person_ids = [real[ph] for _, ph in new_person_rows]
        new_people = list(zip(person_ids, *([col[i] for i in rows_p] for col in (c[n] for n in _PERSON_FILE_ORDER)),
                              [office_ids[office_col[i]] for i in rows_p], strict=True))
        new_convictions = []
        for i, pid in zip(rows_p, person_ids, strict=True):
            for _, conviction in convicted.get(a_col[i], ()):
                new_convictions.append((conviction_ids.take(), pid, office_ids[office_col[i]], *conviction))
        rows_c = [i for i, _, _ in new_case_rows]
        n = len(rows_c)
        first_case = case_ids.next
        new_cases = list(zip(range(first_case, first_case + n), [real.get(pid, pid) for _, pid, _ in new_case_rows],
                             [office_ids[office_col[i]] for i in rows_c], [c["unit"][i] for i in rows_c],
                             [officer for _, _, officer in new_case_rows],
                             *([col[i] for i in rows_c] for col in (c[name] for name in _CASE_FILE_ORDER)),
                             *([value] * n for value in ("open", 1, True, "", "", "", 0, 0)), strict=True))
        return new_people, new_cases, new_convictions, updates

    def flush(lines: list[int], c: dict[str, list], good: list[int]) -> None:
        with transaction.atomic(), connection.cursor() as cur:
            if connection.vendor == "postgresql" and not dry_run:
                cur.execute("LOCK TABLE docket_person, docket_case, docket_conviction IN EXCLUSIVE MODE")
            new_people, new_cases, new_convictions, updates = plan(lines, c, good, cur)
            if dry_run:
                return
            bulk.insert_rows("docket_person", ("id", *PERSON_DB, "office_id"), new_people)
            bulk.insert_rows("docket_conviction", ("id", "person_id", "office_id", *CONVICTION_DB), new_convictions)
            bulk.insert_rows("docket_case", ("id", "person_id", "office_id", "unit", "officer_id", *CASE_DB[3:],
                                             "status", "version", "derived_current", "priority", "priority_rule_set",
                                             "close_reason", "custody_review_count", "missed_in_a_row"),
                             new_cases)
            if new_people:
                index_new_people(new_people[0][0], new_people[-1][0])
                if loaded is not None:
                    loaded.update(p[1] for p in new_people)
            result.convictions += len(new_convictions)
            if update:
                _apply_updates(updates, office_ids, actor=actor, actor_label=label)
                result.updated += len(updates)
            bulk.reset_sequences(["docket_person", "docket_case", "docket_conviction"])
            if new_people or new_cases:
                audit.record(action="docket.batch_imported", actor=actor, actor_label=label, object_type="docket",
                             details={"file": ins.path.name, "sha256": ins.sha256, "first_line": lines[0],
                                      "last_line": lines[-1], "people": len(new_people), "cases": len(new_cases),
                                      "convictions": len(new_convictions)})

    empty = not dry_run and _docket_is_empty()
    loaded: set[str] | None = set() if empty else None   # A-numbers this run wrote (empty docket only)
    loader = (bulk.BulkLoader(["docket_person", "docket_case", "docket_conviction"], label="import docket")
              if empty and ins.data_lines >= batch_rows else None)
    if loader:
        loader.__enter__()
    try:
        for lines, rows in _batches(ins, batch_rows):
            result.rows += len(rows)
            columns, good = parser.case_rows(lines, rows, result)
            if convicted:
                file_a_numbers.update(columns["a_number"][i] for i in good)
            if good:
                try:
                    flush(lines, columns, good)
                except IntegrityError:
                    raise Conflict("concurrent_change", f"{ins.path.name}: people or cases of lines {lines[0]}-{lines[-1]} "
                                                        "were written by another process meanwhile; nothing of this "
                                                        "batch was written, run the import again") from None
            if progress:
                progress(len(rows))
    except BaseException as exc:
        if loader:
            loader.__exit__(type(exc), exc, exc.__traceback__)
        raise
    if loader:
        loader.__exit__(None, None, None)
    for a, items in convicted.items():
        if a not in file_a_numbers:
            for line, _ in items:
                result.reject(line, f"{anumber.display(a)} has no case row in the docket file", file="convictions")
    result.seconds = round(time.perf_counter() - started, 3)
    if not dry_run:
        audit.record(action="docket.imported", actor=actor, actor_label=label, object_type="docket",
                     details={"sha256": ins.sha256, **{k: v for k, v in result.as_dict().items()
                                                       if k not in ("errors", "conflict_list", "unmatched_officers")}})
    return result


def _docket_is_empty() -> bool:
    from caseload.docket.models import Case, Person

    return not (Person.objects.exists() or Case.objects.exists())


# File columns in the order of the database columns they fill (after the person's a_number; after
# the case's office, unit and officer).
_PERSON_FILE_ORDER = ("a_number", "family_name", "given_name", *HEADER[3:len(PERSON_COLUMNS)])
_CASE_FILE_ORDER = HEADER[len(PERSON_COLUMNS) + 3:]

# Cell columns an update may change, by table.
_PERSON_FIELDS = dict(zip(HEADER[:len(PERSON_COLUMNS)], ("a_number", *PERSON_DB[1:]), strict=True))
_CASE_FIELDS = dict(zip(HEADER[len(PERSON_COLUMNS):], CASE_DB, strict=True))


def _apply_updates(updates: list, office_ids: dict[str, int], *, actor, actor_label: str) -> None:
    """Apply conflicting rows deliberately (``--update``): each case through the versioned,
    audited case write; the person's facts with a history row."""
    from caseload.docket.lifecycle import access_case, save_person, write_case
    from caseload.docket.intake import index_person

    for line, case_id, v, officer_id, columns in updates:
        case = access_case(case_id)
        person_changes = {}
        case_changes = {}
        for col in columns:
            if col in _PERSON_FIELDS:
                person_changes[_PERSON_FIELDS[col]] = v[col]
            elif col == "officer_external_id":
                case_changes["officer_id"] = officer_id
            else:
                case_changes[_CASE_FIELDS[col]] = v[col]
        if person_changes:
            person = case.person
            old_name = (person.first_name, person.last_name)
            for name, value in person_changes.items():
                setattr(person, "citizenship_id" if name == "citizenship" else name, value)
            save_person(person, fields=list(person_changes), actor=actor, reason=f"docket import line {line}")
            if "first_name" in person_changes or "last_name" in person_changes:
                index_person(person.pk, (person.first_name, person.last_name), old=old_name)
        write_case(case, changes=case_changes, action="case.import_updated", actor=actor, actor_label=actor_label,
                   reason=f"docket import line {line}", details={"columns": columns,
                                                                 "person": sorted(person_changes)})


def check_file_option(path: Path | None) -> Path | None:
    if path is not None and not Path(path).exists():
        raise UsageError("file_not_found", f"{path}: no such file")
    return path
