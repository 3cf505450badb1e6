"""Checking versioned policy files (rule sets, reporting-cadence tables) before anything is stored.

A file is TOML. Every problem found is collected with its field path (``rules[2].when[0].fact``)
and, where it can be located, its line, so a refused file is fixed in one pass. This module
imports no Django model: it checks structure and values; the services add the checks that need
the database (overlapping effective dates, references to installed rule sets).
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\-]+)\s*\]\]?")
_ARRAY_HEADER = re.compile(r"^\s*\[\[\s*([A-Za-z0-9_.\-]+)\s*\]\]")


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    field: str
    message: str

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class InvalidDocument(Exception):
    """The file was refused; ``problems`` lists every reason."""

    def __init__(self, problems: list[Problem], header: Header | None = None) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems
        self.header = header  # the identity and period, when they could be read: still checked for overlaps


class Locator:
    """Best-effort line numbers for keys and values of a TOML text (tomllib keeps none)."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.first_header = len(self.lines) + 1
        self.arrays: dict[str, list[int]] = {}
        for number, line in enumerate(self.lines, 1):
            if _HEADER.match(line):
                self.first_header = min(self.first_header, number)
            m = _ARRAY_HEADER.match(line)
            if m:
                self.arrays.setdefault(m.group(1), []).append(number)

    def _block(self, table: str | None, index: int | None) -> tuple[int, int]:
        """(first line, line after the last) of the top level or of the index-th ``[[table]]``."""
        if table is None:
            return 1, self.first_header
        starts = self.arrays.get(table, [])
        if index is None or index >= len(starts):
            return (starts[0], starts[0] + 1) if starts else (1, 1)
        start = starts[index]
        end = len(self.lines) + 1
        for number in range(start + 1, len(self.lines) + 1):
            if _HEADER.match(self.lines[number - 1]):
                end = number
                break
        return start, end

    def find(self, *, table: str | None = None, index: int | None = None, key: str | None = None,
             text: str | None = None) -> int | None:
        """Line of ``key = …`` (or the first line holding ``text``) in the block; else the block's header."""
        start, end = self._block(table, index)
        for number in range(start, end):
            line = self.lines[number - 1] if number - 1 < len(self.lines) else ""
            if key is not None and re.match(rf"\s*{re.escape(key)}\s*=", line):
                if text is None:
                    return number
                # the value may sit on a later line of a multi-line array
                for later in range(number, end):
                    if text in self.lines[later - 1]:
                        return later
                return number
            if key is None and text is not None and text in line:
                return number
        if table is not None and self.arrays.get(table) and index is not None and index < len(self.arrays[table]):
            return self.arrays[table][index]
        return None


@dataclass
class Checker:
    """Collects problems for one file."""

    file: str
    locator: Locator
    problems: list[Problem] = field(default_factory=list)

    def add(self, path: str, message: str, *, table: str | None = None, index: int | None = None,
            key: str | None = None, text: str | None = None) -> None:
        line = self.locator.find(table=table, index=index, key=key, text=text)
        self.problems.append(Problem(self.file, line, path, message))

    def unknown_keys(self, data: dict, allowed: Iterable[str], prefix: str, *, table: str | None = None,
                     index: int | None = None) -> None:
        for key in sorted(set(data) - set(allowed)):
            self.add(f"{prefix}{key}", f"unknown key {key!r} (allowed: {', '.join(sorted(allowed))})",
                     table=table, index=index, key=key)

    def text(self, data: dict, key: str, prefix: str = "", *, required: bool = True, table: str | None = None,
             index: int | None = None, max_length: int | None = None, what: str = "text") -> str:
        value = data.get(key)
        if value is None:
            if required:
                self.add(f"{prefix}{key}", f"missing {what}", table=table, index=index)
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            self.add(f"{prefix}{key}", f"must be non-empty {what}", table=table, index=index, key=key)
            return ""
        if max_length is not None and len(value) > max_length:
            self.add(f"{prefix}{key}", f"longer than {max_length} characters", table=table, index=index, key=key)
        return value.strip()

    def date(self, data: dict, key: str, prefix: str = "", *, required: bool = True, table: str | None = None,
             index: int | None = None) -> dt.date | None:
        value = data.get(key)
        if value is None:
            if required:
                self.add(f"{prefix}{key}", "missing date", table=table, index=index)
            return None
        parsed = as_date(value)
        if parsed is None:
            self.add(f"{prefix}{key}", f"must be a date as YYYY-MM-DD, got {value!r}", table=table, index=index, key=key)
        return parsed

    def refuse_if_any(self, header: Header | None = None) -> None:
        if self.problems:
            raise InvalidDocument(self.problems, header)


def as_date(value: object) -> dt.date | None:
    """A TOML date, or an ISO date string; None for anything else (a datetime is not a date)."""
    if isinstance(value, dt.datetime):
        return None
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def parse_toml(text: str, file: str) -> tuple[dict, Checker]:
    """Parse the TOML text; a syntax error refuses the file at once (with tomllib's line and column)."""
    checker = Checker(file, Locator(text))
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise InvalidDocument([Problem(file, int(match.group(1)) if match else None, "", f"not valid TOML: {exc}")]) from None
    return data, checker


@dataclass(frozen=True)
class Header:
    """The part every versioned policy file shares: identity, citation and effective period."""

    id: str
    title: str
    source: str
    effective_from: dt.date
    effective_to: dt.date | None  # exclusive: the first day the version is no longer in force

    def in_force(self, day: dt.date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day < self.effective_to)

    def overlaps(self, other: Header) -> bool:
        return _overlap(self.effective_from, self.effective_to, other.effective_from, other.effective_to)


def _overlap(a_from: dt.date, a_to: dt.date | None, b_from: dt.date, b_to: dt.date | None) -> bool:
    return (b_to is None or a_from < b_to) and (a_to is None or b_from < a_to)


def periods_overlap(a_from: dt.date, a_to: dt.date | None, b_from: dt.date, b_to: dt.date | None) -> bool:
    """Whether [a_from, a_to) and [b_from, b_to) share a day (None: open-ended)."""
    return _overlap(a_from, a_to, b_from, b_to)


HEADER_KEYS = ("id", "title", "source", "source_url", "effective_from", "effective_to", "notes")


def check_header(data: dict, checker: Checker) -> Header:
    """Check the shared keys; problems go to ``checker``."""
    ident = checker.text(data, "id", what="identifier")
    if ident and not ID_PATTERN.match(ident):
        checker.add("id", "must be 1-64 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
                    key="id")
    title = checker.text(data, "title", what="title", max_length=300)
    source = checker.text(data, "source", what="citation of the source document (source = \"…\")")
    checker.text(data, "source_url", required=False, what="URL")
    checker.text(data, "notes", required=False)
    start = checker.date(data, "effective_from")
    end = checker.date(data, "effective_to", required=False)
    if start and end and end <= start:
        checker.add("effective_to", f"must be after effective_from ({start}); effective_to is exclusive", key="effective_to")
    return Header(ident, title, source, start or dt.date.min, end)
