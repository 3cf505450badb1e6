"""Import ICE ERO-LESA statistical extracts (removals, arrests, encounters) of any fiscal year.

The extracts (FOIA 2019-ICFO-53623 and later releases) are pipe-delimited text, usually gzip
compressed, with preamble lines (unit, handling marking, FOIA number, blank, title) before a
header row. The importer works in two passes (docs/foia-import.md):

1. :func:`inspect` reads the whole file once without writing anything: it checks the gzip
   stream is complete, that the content is text, finds the header among the first
   :data:`MAX_PREAMBLE_LINES` lines and detects the kind from it, and hashes the decompressed
   content (normalised: a leading byte-order mark dropped, CRLF and CR line ends read as LF, so
   a copy saved by another tool is the same file). A file that fails any check is refused
   (:class:`RefusedFile`).
2. :func:`import_extract` parses the rows and loads them in batches through the bulk path.
   A bad row (including one holding a NUL byte, which no database text column stores) is
   rejected with its line number and reason; the rest still load. A row's identity
   is (file content hash, line number), so re-importing adds nothing.

Everything above :func:`do_import_extract` is pure Python (no Django), so scripts may use it.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import gzip
import hashlib
import re
import time
import tomllib
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from caseload.core.errors import Conflict, UsageError
from caseload.countries.names import to_alpha2

MAX_PREAMBLE_LINES = 20          # the header must appear within the first lines
MAX_ERRORS_LISTED = 100          # rejected rows listed in the result (all are counted)
_CHUNK = 1 << 20
_SNIFF_BYTES = 1 << 16
_OFFICES_FILE = Path(__file__).resolve().parents[1] / "offices" / "data" / "offices.toml"
_AOR_SUFFIX = " area of responsibility"
_REDACTED = re.compile(r"^(?:\(b\)\(\d\)(?:\([a-z]\))?\s*;?\s*)+$", re.IGNORECASE)
_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_FISCAL_YEAR = re.compile(r"\bFY\s?-?(\d{4}|\d{2})\b", re.IGNORECASE)


class RefusedFile(UsageError):
    """The file is not a usable extract; nothing was written."""


class RowError(ValueError):
    """A row that cannot be loaded; the message is the reason shown with its line number."""


# --- Areas of Responsibility -------------------------------------------------------------------

def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


@functools.cache
def _office_names() -> dict[str, str]:
    with _OFFICES_FILE.open("rb") as fh:
        offices = tomllib.load(fh)["office"]
    return {_norm(o["name"]): o["code"] for o in offices}


@functools.cache
def office_code(label: str) -> tuple[str | None, str]:
    """(office code, flag) for an extract's Area of Responsibility label.

    "Washington Area of Responsibility" -> ("WAS", ""); blank -> (None, "blank");
    "HQ Area of Responsibility" -> (None, "hq"); anything else -> (None, "unknown").
    """
    key = _norm(label)
    if not key:
        return None, "blank"
    name = key.removesuffix(_AOR_SUFFIX)
    if name == "hq" or name.startswith("hq "):
        return None, "hq"
    code = _office_names().get(name)
    return (code, "") if code else (None, "unknown")


# --- Kinds of extract -------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    """One extract column: header names it may carry, the model field, how to read it."""

    headers: tuple[str, ...]
    field: str
    type: str = "text"          # text | date | office | citizenship
    required: bool = False      # a blank or redacted value rejects the row
    optional: bool = False      # a layout may lack the column (its values are then NULL)
    max_length: int = 120


@dataclass(frozen=True)
class Kind:
    name: str
    model: str                   # app_label.ModelName
    table: str
    signature: str               # the header that tells this kind apart from the others
    key_date: str                # the field whose fiscal year is the row's
    columns: tuple[Column, ...]

    def header_columns(self) -> list[Column]:
        return [c for c in self.columns if not c.optional]


# Every column must be in the header except the optional ones (absent from some fiscal years'
# layouts): a renamed or dropped column is a refused file, not a column silently left blank.
_OFFICE = Column(("Area of Responsibility", "Event Area of Responsibility"), "office", "office")
_CITIZENSHIP = Column(("Citizenship",), "citizenship", "citizenship")
_BIRTH = Column(("Birth Date",), "birth_date", "date", optional=True)
_GENDER = Column(("Gender",), "gender", max_length=16)

KINDS: tuple[Kind, ...] = (
    Kind("removals", "ingest.RemovalRecord", "ingest_removalrecord", "Removal Date", "removal_date", (
        _OFFICE,
        Column(("Apprehension Date",), "apprehension_date", "date"),
        Column(("Processing Disposition Code", "Processing Disposition"), "disposition", max_length=80),
        _BIRTH, _CITIZENSHIP, _GENDER,
        Column(("RC Threat Level", "Threat Level"), "threat_level", max_length=40),
        Column(("Final Charge Section",), "final_charge_section", max_length=40, optional=True),
        Column(("Departed Date",), "departed_date", "date", optional=True),
        Column(("Removal Date",), "removal_date", "date", required=True),
    )),
    Kind("arrests", "ingest.ArrestRecord", "ingest_arrestrecord", "Apprehension Method", "apprehension_date", (
        _OFFICE,
        Column(("Apprehension Date",), "apprehension_date", "date", required=True),
        Column(("Apprehension Method",), "apprehension_method", max_length=80),
        Column(("Apprehension Landmark", "Landmark"), "landmark", max_length=200),
        Column(("Operation",), "operation", max_length=80),
        Column(("Processing Disposition",), "disposition", max_length=80),
        _BIRTH, _CITIZENSHIP, _GENDER,
    )),
    Kind("encounters", "ingest.EncounterRecord", "ingest_encounterrecord", "Event Date", "event_date", (
        _OFFICE,
        Column(("Event Date",), "event_date", "date", required=True),
        Column(("Landmark", "Event Landmark"), "landmark", max_length=200),
        Column(("Operation",), "operation", max_length=80),
        Column(("Processing Disposition",), "disposition", max_length=80),
        _BIRTH, _CITIZENSHIP, _GENDER,
    )),
)
KINDS_BY_NAME = {k.name: k for k in KINDS}


def fiscal_year_of(day: dt.date) -> int:
    """U.S. federal fiscal year: FY2016 runs from 1 Oct 2015 to 30 Sep 2016."""
    return day.year + 1 if day.month >= 10 else day.year


# --- Pass 1: inspect ---------------------------------------------------------------------------

@dataclass
class Inspection:
    """What :func:`inspect` learned about a file; nothing has been written yet."""

    path: Path
    sha256: str
    compressed: bool
    encoding: str
    lines: int
    kind: Kind
    header_line: int                      # 1-based
    header: list[str]
    positions: dict[str, int]             # model field -> column index
    has_nul: bool                         # some row holds a NUL byte (those rows are rejected)
    ignored_columns: list[str]
    title: str
    fiscal_year: int | None

    @property
    def data_lines(self) -> int:
        return max(0, self.lines - self.header_line)


def _refuse(path: Path, code: str, reason: str) -> RefusedFile:
    return RefusedFile(code, f"{path.name}: refused, nothing imported: {reason}", file=str(path))


def _stream(path: Path, compressed: bool) -> Iterator[bytes]:
    """The file's content in chunks, decompressed; raise RefusedFile on a damaged gzip stream."""
    if not compressed:
        with path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                yield chunk
        return
    try:
        with gzip.open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                yield chunk
    except EOFError:
        raise _refuse(path, "truncated_gzip", "the gzip stream ends before its end marker (truncated file)") from None
    except (gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise _refuse(path, "corrupt_gzip", f"the gzip stream is damaged ({exc})") from None


def inspect(path: Path | str) -> Inspection:
    """Read the whole file once and check it is an extract; raise RefusedFile otherwise."""
    path = Path(path)
    if not path.is_file():
        raise RefusedFile("file_not_found", f"{path}: no such file", file=str(path))
    try:
        with path.open("rb") as fh:
            magic = fh.read(2)
    except OSError as exc:
        raise RefusedFile("unreadable_file", f"{path}: cannot be read ({exc.strerror})", file=str(path)) from None
    if not magic:
        raise _refuse(path, "empty_file", "the file is empty")
    compressed = magic == b"\x1f\x8b"
    digest = hashlib.sha256()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    encoding = "utf-8"
    head = bytearray()
    lines = 0
    last = b""
    has_nul = bom = False
    for chunk in _normalised(_stream(path, compressed)):
        if not head and chunk.startswith(codecs.BOM_UTF8):
            chunk, bom = chunk[len(codecs.BOM_UTF8):], True
        digest.update(chunk)
        has_nul = has_nul or b"\x00" in chunk
        if len(head) < _SNIFF_BYTES:
            head += chunk[: _SNIFF_BYTES - len(head)]
        if encoding == "utf-8":
            try:
                utf8.decode(chunk)
            except UnicodeDecodeError:
                encoding = "latin-1"
        lines += chunk.count(b"\n")
        last = chunk[-1:]
    if encoding == "utf-8":
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            encoding = "latin-1"
    if last and last != b"\n":
        lines += 1
    if not head.strip():
        raise _refuse(path, "empty_file", "the file holds no text")
    text = head.decode(encoding, errors="replace")
    if _looks_binary(text):
        raise _refuse(path, "binary_file", "the content is binary, not delimited text")
    if bom and encoding == "utf-8":
        encoding = "utf-8-sig"  # the reader drops the mark, as the digest did
    return _detect(path, text, digest.hexdigest(), compressed, encoding, lines, has_nul)


def _normalised(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The chunks with CRLF and lone CR line ends turned into LF (a CR at a chunk's end waits
    for the next chunk, which may start with its LF)."""
    pending = b""
    for chunk in chunks:
        chunk = pending + chunk
        pending = b"\r" if chunk.endswith(b"\r") else b""
        if pending:
            chunk = chunk[:-1]
        if b"\r" in chunk:
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if chunk:
            yield chunk
    if pending:
        yield b"\n"



def _looks_binary(text: str) -> bool:
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\r\n\t\f")
    return controls > max(8, len(text) // 100)


def _detect(path: Path, head: str, sha256: str, compressed: bool, encoding: str, lines: int,
            has_nul: bool) -> Inspection:
    first_lines = head.splitlines(keepends=True)[:MAX_PREAMBLE_LINES]
    try:
        rows = list(csv.reader(first_lines, delimiter="|"))
    except csv.Error as exc:
        raise _refuse(path, "wrong_header", f"the first lines are not delimited text ({exc})") from None
    for index, row in enumerate(rows):
        cells = [_norm(c) for c in row]
        kind = _kind_of(cells)
        if kind is None:
            continue
        duplicates = [c for c, n in Counter(c for c in cells if c).items() if n > 1]
        if duplicates:
            raise _refuse(path, "wrong_header", f"the header on line {index + 1} repeats column {duplicates[0]!r}")
        positions: dict[str, int] = {}
        for column in kind.columns:
            found = next((cells.index(_norm(h)) for h in column.headers if _norm(h) in cells), None)
            if found is not None:
                positions[column.field] = found
        missing = [c.headers[0] for c in kind.header_columns() if c.field not in positions]
        if missing:
            unknown = [row[i].strip() for i in range(len(row)) if row[i].strip() and i not in positions.values()]
            raise _refuse(path, "wrong_header",
                          f"the {kind.name} header on line {index + 1} lacks column(s): {', '.join(missing)}"
                          + (f" (unknown column(s): {', '.join(unknown)})" if unknown else ""))
        used = set(positions.values())
        ignored = [row[i].strip() for i in range(len(row)) if i not in used and row[i].strip()]
        preamble = [" ".join(r[0].split()) for r in rows[:index] if r and r[0].strip()]
        return Inspection(path=path, sha256=sha256, compressed=compressed, encoding=encoding, lines=lines, kind=kind,
                          header_line=index + 1, header=[c.strip() for c in row], positions=positions, has_nul=has_nul,
                          ignored_columns=ignored, title=preamble[-1] if preamble else "",
                          fiscal_year=_fiscal_year_from_text(preamble, path.name))
    first = " ".join(head.splitlines()[0].split())[:80] if head.splitlines() else ""
    raise _refuse(path, "wrong_header",
                  f"no removals, arrests or encounters header in the first {MAX_PREAMBLE_LINES} lines "
                  f"(line 1 reads {first!r})")


def _kind_of(cells: list[str]) -> Kind | None:
    present = set(cells)
    for kind in KINDS:
        if _norm(kind.signature) in present and any(_norm(h) in present for h in _OFFICE.headers):
            return kind
    return None


def _fiscal_year_from_text(preamble: list[str], filename: str) -> int | None:
    for text in (*reversed(preamble), filename):
        match = _FISCAL_YEAR.search(text.replace("_", " "))
        if match:
            year = int(match.group(1))
            return year + 2000 if year < 100 else year
    return None


# --- Pass 2: parse rows ------------------------------------------------------------------------

def parse_date(raw: str) -> dt.date:
    """An extract date (M/D/YYYY), or RowError."""
    match = _DATE.match(raw)
    if not match:
        raise RowError(f"{raw!r} is not a date (M/D/YYYY)")
    month, day, year = (int(g) for g in match.groups())
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise RowError(f"{raw!r} is not a calendar date") from None


_ROW_ERROR = object()  # marks a memoised conversion that failed; the reason follows it


@dataclass
class Parser:
    """Turns an extract's rows into the values of its kind's table, in :meth:`columns` order.

    Each column's conversions are memoised (raw text -> stored values): the extracts repeat a
    few thousand distinct values per column over hundreds of thousands of rows, so most cells
    cost one dictionary lookup.
    """

    inspection: Inspection
    file_id: int
    office_ids: dict[str, int]
    key_dates: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        kind = self.inspection.kind
        self._width = len(self.inspection.header)
        self._plan = [(self.inspection.positions.get(c.field), c, {}) for c in kind.columns]
        fields = [c.field for c in kind.columns]
        self._days = (fields.index("apprehension_date"), fields.index("removal_date")) if kind.name == "removals" else None
        self._key = fields.index(kind.key_date)
        self._count_key_dates = self.inspection.fiscal_year is None
        self._ordinals: dict[str, int] = {}

    def columns(self) -> list[str]:
        names = ["file_id", "line"]
        for column in self.inspection.kind.columns:
            if column.type == "office":
                names += ["office_id", "office_flag", "office_label"]
            elif column.type == "citizenship":
                names += ["citizenship", "citizenship_raw"]
            else:
                names.append(column.field)
        if self._days:
            names.append("days_to_removal")
        return names

    def convert(self, column: Column, cell: str | None) -> tuple:
        """The stored values of one cell (None: the column is absent); raise RowError."""
        raw = (cell or "").strip()
        redacted = raw[:1] == "(" and _REDACTED.match(raw) is not None
        if column.required and (not raw or redacted):
            raise RowError(f"{column.headers[0]} is {'redacted' if redacted else 'blank'}")
        if len(raw) > column.max_length and not redacted:
            raise RowError(f"{column.headers[0]} is longer than {column.max_length} characters")
        if column.type == "office":
            code, flag = office_code(raw)
            office_id = self.office_ids.get(code) if code else None
            if code and office_id is None:
                flag = "unknown"
            return (office_id, flag, "" if office_id else raw)
        if column.type == "citizenship":
            return (to_alpha2(raw), raw)
        if cell is None or redacted or (not raw and column.type == "date"):
            return (None,)
        if column.type == "date":
            day = parse_date(raw)
            self._ordinals[day.isoformat()] = day.toordinal()
            return (day.isoformat(),)
        return (raw,)

    def parse(self, line: int, row: list[str]) -> tuple:
        if len(row) != self._width:
            raise RowError(f"expected {self._width} fields, found {len(row)}")
        out: list = [self.file_id, line]
        dates: list = []
        for pos, column, memo in self._plan:
            cell = row[pos] if pos is not None else None
            values = memo.get(cell)
            if values is None:
                try:
                    values = memo[cell] = self.convert(column, cell)
                except RowError as exc:
                    values = memo[cell] = (_ROW_ERROR, str(exc))
            if values[0] is _ROW_ERROR:
                raise RowError(values[1])
            dates.append(values[0])
            out.extend(values)
        if self._days:
            start, end = dates[self._days[0]], dates[self._days[1]]
            out.append(self._ordinals[end] - self._ordinals[start] if start is not None and end is not None else None)
        if self._count_key_dates:
            self.key_dates[dates[self._key]] += 1
        return tuple(out)

    def fiscal_year_of_data(self) -> int | None:
        """The fiscal year most rows' key dates fall in (used when the title names none)."""
        years: Counter = Counter()
        for day, n in self.key_dates.items():
            years[fiscal_year_of(dt.date.fromisoformat(day))] += n
        return years.most_common(1)[0][0] if years else None


def data_rows(inspection: Inspection) -> Iterator[tuple[int, list[str] | RowError]]:
    """(line number, fields) of every non-blank row after the header; a row the CSV reader
    cannot split (e.g. a field over the reader's size limit) or that holds a NUL byte comes as a
    RowError."""
    opener = gzip.open if inspection.compressed else open
    with opener(inspection.path, "rt", encoding=inspection.encoding, newline="") as fh:
        reader = csv.reader(fh, delimiter="|")
        previous = 0
        while True:
            try:
                row: list[str] | RowError = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                row = RowError(f"unreadable row ({exc})")
            start, previous = previous + 1, reader.line_num
            if start <= inspection.header_line or (
                    isinstance(row, list) and (not row or (len(row) == 1 and not row[0].strip()))):
                continue
            if inspection.has_nul and isinstance(row, list) and any("\x00" in cell for cell in row):
                row = RowError("the row holds a NUL byte")
            yield start, row


# --- The service -------------------------------------------------------------------------------

@dataclass
class ImportResult:
    file: str
    kind: str
    fiscal_year: int | None
    rows: int = 0
    imported: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        """The documented JSON object of ``caseload import ice-extract --format json``."""
        keys = ("file", "kind", "fiscal_year", "rows", "imported", "duplicates", "rejected", "errors")
        return {k: getattr(self, k) for k in keys}


Progress = Callable[[int], None]


def inspect_all(paths: list[Path | str]) -> list[Inspection]:
    """Inspect every file first, so one bad file stops the run before anything is written."""
    return [inspect(p) for p in paths]


def do_import_extract(inspection: Inspection, *, actor=None, actor_label: str | None = None,
                      progress: Progress | None = None) -> ImportResult:
    """Load one inspected extract; see the module docstring. Returns the per-file counts."""
    from django.apps import apps
    from django.db import IntegrityError, connection, transaction

    from caseload.core import audit, bulk, clock
    from caseload.ingest.models import ExtractFile, ExtractImport
    from caseload.offices.models import FieldOffice

    started, started_at = time.perf_counter(), clock.now()
    bulk.restore_interrupted()  # what a killed load dropped comes back before this one starts
    kind = inspection.kind
    model = apps.get_model(kind.model)
    label = actor_label or (actor.get_username() if actor is not None else "system")
    with transaction.atomic():
        extract, _ = ExtractFile.objects.get_or_create(sha256=inspection.sha256, defaults={
            "name": inspection.path.name, "kind": kind.name, "fiscal_year": inspection.fiscal_year,
            "title": inspection.title[:300], "header": inspection.header, "header_line": inspection.header_line,
            "rows": 0, "first_imported_at": started_at})
    existing = set(model.objects.filter(file_id=extract.id).values_list("line", flat=True))
    parser = Parser(inspection, extract.id, dict(FieldOffice.objects.values_list("code", "id")))
    names = parser.columns()
    result = ImportResult(file=inspection.path.name, kind=kind.name, fiscal_year=inspection.fiscal_year)

    def flush(batch: list[tuple]) -> None:
        try:
            with transaction.atomic():
                bulk.insert_rows(kind.table, names, batch)
        except (IntegrityError, connection.Database.IntegrityError):  # the bulk path raises the driver's own error
            raise Conflict("import_in_progress", f"{inspection.path.name}: another import of the same file wrote these "
                                                 "rows meanwhile; run the import again when it has finished") from None
        result.imported += len(batch)

    batch_rows = bulk.batch_rows()  # rows per transaction; from this many new rows on, indexes are dropped meanwhile
    loader = bulk.BulkLoader([kind.table], label=f"import:{kind.name}") if inspection.data_lines - len(existing) >= batch_rows else None
    batch: list[tuple] = []
    seen = 0
    if loader:
        loader.__enter__()
    try:
        for line, row in data_rows(inspection):
            result.rows += 1
            if line in existing:
                result.duplicates += 1
                continue
            try:
                if isinstance(row, RowError):
                    raise row
                batch.append(parser.parse(line, row))
            except RowError as exc:
                result.rejected += 1
                if len(result.errors) < MAX_ERRORS_LISTED:
                    result.errors.append({"line": line, "reason": str(exc)})
            if len(batch) >= batch_rows:
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

    if result.fiscal_year is None:
        result.fiscal_year = parser.fiscal_year_of_data() or extract.fiscal_year
    with transaction.atomic():
        ExtractFile.objects.filter(pk=extract.pk).update(rows=result.rows, fiscal_year=result.fiscal_year)
        run = ExtractImport.objects.create(
            file=extract, path=str(inspection.path), started_at=started_at, finished_at=clock.now(), actor_label=label,
            rows=result.rows, imported=result.imported, duplicates=result.duplicates, rejected=result.rejected,
            errors=result.errors)
        audit.record(action="ingest.extract_imported", actor=actor, actor_label=label, object_type="ingest.extractfile",
                     object_id=extract.pk, details={"import": run.pk, "sha256": inspection.sha256,
                                                    **{k: v for k, v in result.as_dict().items() if k != "errors"}})
    result.seconds = round(time.perf_counter() - started, 3)
    return result
