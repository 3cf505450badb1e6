"""The agency's docket as files: export the open docket to CSV, import such a file (docs/docket-file.md).

**Export** writes one row per open case (the person's facts and the case's) in case-id order,
and optionally the convictions of those people to a second file keyed by A-number. A name
ending in ``.gz`` is gzip-compressed (with a zero timestamp, so the same docket gives the
same bytes). The file is written beside its destination and renamed into place at the end.

**Import** works in two passes, like the ICE extract importer:

1. :func:`inspect` reads the whole file once and writes nothing: it checks the gzip stream is
   complete, that the content is text, and that the header names known columns including every
   required one. A file that fails is refused (:class:`~caseload.ingest.foia.RefusedFile`).
2. :func:`do_import_docket` parses the rows and loads them in batches of :data:`BATCH_ROWS`,
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
import gzip
import hashlib
import io
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError

from caseload.core.errors import UsageError
from caseload.docket import anumber
from caseload.ingest.foia import RefusedFile, _looks_binary, _stream

BATCH_ROWS = 50_000
BULK_LOAD_MIN_ROWS = 50_000      # an import of this many rows into an empty docket drops the indexes meanwhile
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
    ("incident_id", "text", False),
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


def _rows(ins: Inspection) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of every data row; line 1 is the header."""
    raw = gzip.open(ins.path, "rb") if ins.compressed else ins.path.open("rb")
    with io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="") as fh:
        reader = csv.reader(fh)
        next(reader, None)
        for cells in reader:
            yield reader.line_num, cells


# --- parsing rows ---------------------------------------------------------------------------------

class RowError(ValueError):
    pass


class Parser:
    """Turns a row's cells into database values, or raises RowError with the reason."""

    def __init__(self, header: list[str], columns=COLUMNS) -> None:
        from caseload.countries.models import Country
        from caseload.offices.models import FieldOffice

        self.positions = {name: header.index(name) if name in header else None for name, _, _ in columns}
        self.columns = columns
        self.choices = _choices()
        self.countries = set(Country.objects.values_list("code", flat=True))
        self.offices = dict(FieldOffice.objects.values_list("code", "id"))
        self.today = None

    def values(self, cells: list[str]) -> dict:
        from caseload.countries.names import to_alpha2

        out = {}
        for name, kind, required in self.columns:
            pos = self.positions[name]
            raw = cells[pos].strip() if pos is not None and pos < len(cells) else ""
            if not raw:
                if required:
                    raise RowError(f"{name} is required")
                out[name] = False if kind == "bool" else (0 if kind == "int" else ("" if kind != "date" else None))
                continue
            if kind == "date":
                try:
                    out[name] = dt.date.fromisoformat(raw)
                except ValueError:
                    raise RowError(f"{name}: {raw!r} is not a date (YYYY-MM-DD)") from None
            elif kind == "bool":
                low = raw.lower()
                if low not in ("true", "false", "1", "0", "yes", "no"):
                    raise RowError(f"{name}: {raw!r} is not true or false")
                out[name] = low in ("true", "1", "yes")
            elif kind == "int":
                if not raw.isdigit():
                    raise RowError(f"{name}: {raw!r} is not a whole number ≥ 0")
                out[name] = int(raw)
            elif kind == "a_number":
                try:
                    out[name] = anumber.normalize(raw)
                except ValidationError:
                    raise RowError(f"{name}: {raw!r} is not an A-number") from None
            elif kind == "name":
                if len(raw) > 80:
                    raise RowError(f"{name} is longer than 80 characters")
                out[name] = raw
            elif kind == "country":
                code = raw.upper() if raw.upper() in self.countries else to_alpha2(raw)
                if code not in self.countries:
                    raise RowError(f"{name}: unknown country {raw!r}")
                out[name] = code
            elif kind == "office":
                code = self.offices.get(raw.upper())
                if code is None:
                    raise RowError(f"{name}: unknown field office {raw!r}")
                out[name] = raw.upper()
            elif kind.startswith("choice:"):
                allowed = self.choices[kind[7:]]
                if raw not in allowed:
                    raise RowError(f"{name}: {raw!r} is not one of {', '.join(a for a in allowed if a)}")
                out[name] = raw
            else:
                out[name] = raw[:64]
        return out

    def case_row(self, cells: list[str]) -> dict:
        v = self.values(cells)
        today = self.today
        for name in ("birth_date", "entry_date", "last_apprehension_date", "opened_on", "final_order_date",
                     "proceedings_started_on", "appeal_filed_on", "citizenship_claim_raised_on", "last_contact_on",
                     "stage_changed_on"):
            if v.get(name) and v[name] > today:
                raise RowError(f"{name} {v[name]} is after today ({today})")
        v["gender"] = v["gender"] or "X"
        v["entry_manner"] = v["entry_manner"] or "unknown"
        v["citizenship_claim"] = v["citizenship_claim"] or "none"
        v["proceedings_started_on"] = v["proceedings_started_on"] or v["opened_on"]
        v["stage_changed_on"] = v["stage_changed_on"] or v["final_order_date"] or v["opened_on"]
        if v["birth_date"] and v["entry_date"] and v["entry_date"] < v["birth_date"]:
            raise RowError("entry_date is before birth_date")
        if v["stage"] == "final_order" and v["final_order_date"] is None:
            raise RowError("a final_order case needs final_order_date")
        if v["stage"] != "final_order" and v["final_order_date"] is not None:
            raise RowError(f"a {v['stage']} case has no final_order_date")
        if v["final_order_date"] and v["final_order_date"] < v["proceedings_started_on"]:
            raise RowError("final_order_date is before proceedings_started_on")
        if v["stage"] == "appeal" and not (v["appeal_pending"] and v["appeal_filed_on"]):
            raise RowError("an appeal case needs appeal_pending true and appeal_filed_on")
        if v["reporting_cadence_days"] <= 0:
            raise RowError("reporting_cadence_days must be above 0")
        return v


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


def _read_convictions(ins: Inspection, result: ImportResult) -> dict[str, list[tuple]]:
    """The convictions file as {A-number digits: [(line, CONVICTION_DB values)]}; bad rows rejected."""
    parser = Parser(ins.header, CONVICTION_COLUMNS)
    by_person: dict[str, list[tuple]] = {}
    for line, cells in _rows(ins):
        try:
            v = parser.values(cells)
            if v["aggravated_felony"] and v["severity"] != "felony":
                raise RowError("an aggravated felony must have severity felony")
            sentence = max(v["sentence_days"], v["custody_days"])
        except RowError as exc:
            result.reject(line, str(exc), file="convictions")
            continue
        incident = v["incident_id"] or f"{v['a_number']}-{v['convicted_on'].isoformat()}-{line}"
        by_person.setdefault(v["a_number"], []).append(
            (line, (v["convicted_on"], v["offense_category"], v["severity"], v["aggravated_felony"], sentence,
                    v["custody_days"], incident)))
    return by_person


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


def _db_value(value):
    return value.isoformat() if isinstance(value, dt.date) else value


def do_import_docket(ins: Inspection, *, convictions: Inspection | None = None, dry_run: bool = False,
                     update: bool = False, actor=None, actor_label: str | None = None,
                     progress: Callable[[int], None] | None = None) -> ImportResult:
    """Load an inspected docket file (see the module docstring); returns the counts."""
    from django.db import connection, transaction

    from caseload.core import audit, bulk, clock
    from caseload.docket.intake import index_new_people
    from caseload.offices.models import FieldOffice, Officer

    started = time.perf_counter()
    label = actor_label or (actor.get_username() if actor is not None else "system")
    result = ImportResult(file=ins.path.name, dry_run=dry_run)
    if not dry_run:
        bulk.restore_interrupted()
    parser = Parser(ins.header)
    parser.today = clock.today()
    offices = dict(FieldOffice.objects.values_list("id", "code"))
    office_ids = {code: pk for pk, code in offices.items()}
    officer_rows = list(Officer.objects.exclude(external_id=None).values_list("id", "external_id", "office_id", "status"))
    officers = {pk: ext for pk, ext, _, _ in officer_rows}
    by_external = {ext: (pk, office, status) for pk, ext, office, status in officer_rows}
    convicted = _read_convictions(convictions, result) if convictions else {}
    file_a_numbers: set[str] = set()

    def plan(batch: list[tuple[int, dict]], cur) -> tuple[list, list, list, list]:
        """Decide each row of a batch: (new people, new cases, new convictions, conflicts to update)."""
        existing = _existing(cur, sorted({v["a_number"] for _, v in batch}), offices, officers)
        people_ids = _Ids(cur, "docket_person") if not dry_run else None
        case_ids = _Ids(cur, "docket_case") if not dry_run else None
        conviction_ids = _Ids(cur, "docket_conviction") if not dry_run else None
        new_people, new_cases, new_convictions, updates = [], [], [], []
        opened_here: dict[str, tuple[str, str]] = {}
        for line, v in batch:
            a, office = v["a_number"], v["office"]
            key = (a, office, v["opened_on"].isoformat())
            ext = v["officer_external_id"]
            officer_id = None
            if ext:
                match = by_external.get(ext)
                if match and match[1] == office_ids[office] and match[2] != "separated":
                    officer_id = match[0]
            if key in existing.by_key:
                case_id, current = existing.by_key[key]
                texts = _texts({**v, "officer_external_id": officers.get(officer_id, "") if officer_id else ""})
                if current == texts:
                    result.unchanged += 1
                else:
                    result.conflicts += 1
                    diff = [HEADER[i] for i, (x, y) in enumerate(zip(current, texts, strict=True)) if x != y]
                    if len(result.conflict_list) < MAX_ERRORS_LISTED:
                        result.conflict_list.append({"line": line, "case_id": case_id, "a_number": anumber.display(a),
                                                     "columns": diff})
                    updates.append((line, case_id, v, officer_id, diff))
                continue
            if a in opened_here or a in existing.open_case:
                case_id, where = existing.open_case.get(a, (None, opened_here.get(a, ("", ""))[0]))
                result.reject(line, f"{anumber.display(a)} already has an open case"
                                    + (f" ({case_id})" if case_id else " (an earlier row of this file)") + f" at {where}")
                continue
            if ext and officer_id is None:
                result.unassigned += 1
                if len(result.unmatched_officers) < MAX_ERRORS_LISTED:
                    result.unmatched_officers.append({"line": line, "external_id": ext})
            elif not ext:
                result.unassigned += 1
            opened_here[a] = (office, key[2])
            result.imported += 1
            if dry_run:
                continue
            person_id = existing.people.get(a)
            if person_id is None:
                person_id = people_ids.take()
                existing.people[a] = person_id
                new_people.append((person_id, a, v["family_name"], v["given_name"], _db_value(v["birth_date"]),
                                   v["gender"], v["citizenship"], _db_value(v["entry_date"]), v["entry_manner"],
                                   _db_value(v["last_apprehension_date"]), v["apprehension_place"], v["national_security"],
                                   v["gang"], v["citizenship_claim"], _db_value(v["citizenship_claim_raised_on"]),
                                   v["pending_criminal_charges"], v["visa_fraud_finding"], v["public_benefits_abuse"],
                                   office_ids[office]))
                for _, c in convicted.get(a, ()):
                    new_convictions.append((conviction_ids.take(), person_id, office_ids[office],
                                            *(_db_value(x) for x in c)))
            new_cases.append((case_ids.take(), person_id, office_ids[office], v["unit"], officer_id,
                              v["supervision_type"], v["stage"], *(_db_value(v[c]) for c in (
                                  "opened_on", "proceedings_started_on", "stage_changed_on", "final_order_date")),
                              v["appeal_pending"], _db_value(v["appeal_filed_on"]), _db_value(v["stay_of_removal_until"]),
                              v["reporting_cadence_days"], _db_value(v["next_report_due"]),
                              _db_value(v["last_contact_on"]), "open", 1, True, "", "", "", 0, 0))
        return new_people, new_cases, new_convictions, updates

    def flush(batch: list[tuple[int, dict]]) -> None:
        with transaction.atomic(), connection.cursor() as cur:
            if connection.vendor == "postgresql" and not dry_run:
                cur.execute("LOCK TABLE docket_person, docket_case, docket_conviction IN EXCLUSIVE MODE")
            new_people, new_cases, new_convictions, updates = plan(batch, cur)
            if dry_run:
                return
            bulk.insert_rows("docket_person", ("id", *PERSON_DB, "office_id"), new_people)
            bulk.insert_rows("docket_conviction", ("id", "person_id", "office_id", *CONVICTION_DB), new_convictions)
            bulk.insert_rows("docket_case", ("id", "person_id", *CASE_DB, "status", "version", "derived_current",
                                             "priority", "priority_rule_set", "close_reason", "custody_review_count",
                                             "missed_in_a_row"),
                             new_cases)
            if new_people:
                index_new_people(new_people[0][0], new_people[-1][0])
            result.convictions += len(new_convictions)
            if update:
                _apply_updates(updates, office_ids, actor=actor, actor_label=label)
                result.updated += len(updates)
            bulk.reset_sequences(["docket_person", "docket_case", "docket_conviction"])
            if new_people or new_cases:
                audit.record(action="docket.batch_imported", actor=actor, actor_label=label, object_type="docket",
                             details={"file": ins.path.name, "sha256": ins.sha256, "first_line": batch[0][0],
                                      "last_line": batch[-1][0], "people": len(new_people), "cases": len(new_cases),
                                      "convictions": len(new_convictions)})

    empty = not dry_run and _docket_is_empty()
    loader = (bulk.BulkLoader(["docket_person", "docket_case", "docket_conviction"], label="import docket")
              if empty and ins.data_lines >= BULK_LOAD_MIN_ROWS else None)
    if loader:
        loader.__enter__()
    try:
        batch: list[tuple[int, dict]] = []
        seen = 0
        for line, cells in _rows(ins):
            result.rows += 1
            try:
                v = parser.case_row(cells)
            except RowError as exc:
                result.reject(line, str(exc))
                continue
            file_a_numbers.add(v["a_number"])
            batch.append((line, v))
            if len(batch) >= BATCH_ROWS:
                flush(batch)
                batch = []
            if progress and result.rows - seen >= 10_000:
                progress(result.rows - seen)
                seen = result.rows
        if batch:
            flush(batch)
    except BaseException as exc:
        if loader:
            loader.__exit__(type(exc), exc, exc.__traceback__)
        raise
    if loader:
        loader.__exit__(None, None, None)
    if progress:
        progress(result.rows - seen)
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
