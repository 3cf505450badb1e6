"""The procedures manual: versioned sections, reading as of a date, diffs, search, reviews, acknowledgments.

An amendment is a new version of a section with its own effective date and the memo or reason
that caused it; nothing is overwritten. Sections are imported from Markdown files with TOML
front matter (docs/manual.md). Search runs on SQLite FTS5 or PostgreSQL full text behind
:func:`search` (one service, two backends).
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from django.db import connection, transaction
from django.db.models import Max

from caseload.core import audit, clock
from caseload.core.errors import Conflict, NotFound, UsageError
from caseload.offices.models import Officer, OfficerStatus, Unit
from caseload.offices.services import access_office
from caseload.policy.documents import Checker, InvalidDocument, Locator, Problem
from caseload.policy.models import (
    ManualAcknowledgment,
    ManualChapter,
    ManualReview,
    ManualSection,
    ManualSectionVersion,
)
from caseload.policy.services import InvalidPolicyFile

SAMPLE_DIR = Path(__file__).with_name("data") / "manual"
NUMBER = re.compile(r"^\d{1,3}(\.\d{1,3}){0,3}$")
FRONT_KEYS = ("chapter", "chapter_title", "section", "title", "owner", "review_interval_days", "applies_to",
              "effective_from", "memo", "reason", "withdrawn")
UNITS = tuple(Unit.values)
SEARCH_LIMIT_MAX = 200
MARK = "**"  # search snippets mark matched words as Markdown bold


def sort_key(number: str) -> str:
    """"3.10" sorts after "3.9": each part zero-padded."""
    return ".".join(part.zfill(4) for part in number.split("."))


# --------------------------------------------------------------------------------------------
# Files


@dataclass(frozen=True)
class ManualFile:
    file: str
    chapter: str
    chapter_title: str
    section: str
    title: str
    owner: str
    review_interval_days: int
    applies_to: tuple[str, ...]
    effective_from: dt.date
    memo: str
    reason: str
    withdrawn: bool
    body: str

    @property
    def sha256(self) -> str:
        """Hash of the version's own content (section metadata such as the owner is not part of it)."""
        canonical = "\x1f".join([self.title, self.body, self.memo, self.reason, str(self.withdrawn)])
        return hashlib.sha256(canonical.encode()).hexdigest()


def parse_manual_file(text: str, *, file: str) -> ManualFile:
    """Split TOML front matter (between ``+++`` lines) from the Markdown body and check it."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "+++":
        raise InvalidDocument([Problem(file, 1, "", "must start with TOML front matter between +++ lines")])
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "+++")
    except StopIteration:
        raise InvalidDocument([Problem(file, 1, "", "front matter is not closed by a +++ line")]) from None
    front = "\n".join(lines[1:end])
    try:
        data = tomllib.loads(front)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        line = int(match.group(1)) + 1 if match else None
        raise InvalidDocument([Problem(file, line, "", f"front matter is not valid TOML: {exc}")]) from None
    checker = Checker(file, _ShiftedLocator(front, 1))
    checker.unknown_keys(data, FRONT_KEYS, "")
    chapter = checker.text(data, "chapter", what="chapter number")
    section = checker.text(data, "section", what="section number")
    for key, value in (("chapter", chapter), ("section", section)):
        if value and not NUMBER.match(value):
            checker.add(key, "must be numbers separated by dots, e.g. \"2\" or \"2.1\"", key=key)
    if chapter and section and not section.startswith(chapter + "."):
        checker.add("section", f"section {section} is not in chapter {chapter} (expected {chapter}.N)", key="section")
    interval = data.get("review_interval_days")
    if not isinstance(interval, int) or isinstance(interval, bool) or interval <= 0:
        checker.add("review_interval_days", f"must be a whole number of days greater than 0, got {interval!r}",
                    key="review_interval_days")
        interval = 0
    applies = data.get("applies_to", [])
    if not isinstance(applies, list) or not all(isinstance(u, str) and u in UNITS for u in applies):
        checker.add("applies_to", f"must be a list of units among {', '.join(UNITS)}", key="applies_to")
        applies = []
    withdrawn = data.get("withdrawn", False)
    if not isinstance(withdrawn, bool):
        checker.add("withdrawn", "must be true or false", key="withdrawn")
        withdrawn = False
    parsed = ManualFile(
        file=file, chapter=chapter, chapter_title=checker.text(data, "chapter_title", what="chapter title", max_length=200),
        section=section, title=checker.text(data, "title", what="section title", max_length=200),
        owner=checker.text(data, "owner", what="owner", max_length=150), review_interval_days=interval,
        applies_to=tuple(applies), effective_from=checker.date(data, "effective_from") or dt.date.min,
        memo=checker.text(data, "memo", required=False, max_length=200),
        reason=checker.text(data, "reason", required=False), withdrawn=withdrawn,
        body="\n".join(lines[end + 1:]).strip() + "\n",
    )
    if not withdrawn and not parsed.body.strip():
        checker.problems.append(Problem(file, end + 2, "body", "the section has no text"))
    checker.refuse_if_any()
    return parsed


class _ShiftedLocator(Locator):
    """Line numbers of the front matter, counted in the whole file."""

    def __init__(self, text: str, offset: int) -> None:
        super().__init__(text)
        self.offset = offset

    def find(self, **kwargs) -> int | None:
        line = super().find(**kwargs)
        return line + self.offset if line else None


# --------------------------------------------------------------------------------------------
# Import


def _label(actor, actor_label: str | None) -> str:
    return actor_label or (actor.get_username() if actor is not None else "")


def do_import_manual(directory: Path, *, actor=None, actor_label: str | None = None) -> dict:
    """Import every ``*.md`` file under ``directory``: all or nothing, idempotent.

    A file whose (section, effective_from) is already imported with the same content is
    unchanged; with different content it is refused (an amendment needs its own effective
    date). A new version may not take effect before the section's latest imported version.
    Every version after a section's first needs a ``reason`` or ``memo``.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise UsageError("not_a_directory", f"{directory} is not a directory")
    paths = sorted(directory.rglob("*.md"))
    if not paths:
        raise UsageError("no_manual_files", f"no *.md files under {directory}")
    problems: list[Problem] = []
    files: list[ManualFile] = []
    for path in paths:
        try:
            files.append(parse_manual_file(path.read_text(encoding="utf-8"), file=str(path)))
        except InvalidDocument as exc:
            problems += exc.problems
    problems += _consistency_problems(files)
    counts = {"files": len(paths), "versions_added": 0, "unchanged": 0}
    with transaction.atomic():
        plan = _plan(files, problems)
        if problems:
            raise InvalidPolicyFile(problems, "manual")
        now, label = clock.now(), _label(actor, actor_label)
        chapters: dict[str, ManualChapter] = {}
        for f in sorted(files, key=lambda f: f.effective_from):  # the latest file's metadata wins
            chapter, _ = ManualChapter.objects.update_or_create(
                number=f.chapter, defaults={"title": f.chapter_title, "sort_key": sort_key(f.chapter)})
            chapters[f.chapter] = chapter
            ManualSection.objects.update_or_create(number=f.section, defaults={
                "chapter": chapter, "sort_key": sort_key(f.section), "owner": f.owner,
                "review_interval_days": f.review_interval_days, "applies_to_units": list(f.applies_to)})
        sections = {s.number: s for s in ManualSection.objects.filter(number__in={f.section for f in files})}
        for f, version in plan:
            if version is None:
                counts["unchanged"] += 1
                continue
            row = ManualSectionVersion.objects.create(
                section=sections[f.section], version=version, effective_from=f.effective_from, title=f.title, body=f.body,
                memo=f.memo, reason=f.reason, withdrawn=f.withdrawn, source_file=f.file[-300:], sha256=f.sha256,
                imported_at=now, imported_by=label)
            counts["versions_added"] += 1
            audit.record(action="manual.version_added", actor=actor, actor_label=actor_label, object_type="manual_section",
                         object_id=f.section, details={"version": row.version, "effective_from": f.effective_from,
                                                       "memo": f.memo, "reason": f.reason, "withdrawn": f.withdrawn,
                                                       "sha256": f.sha256, "file": f.file})
        counts["chapters"] = len(chapters)
        counts["sections"] = len(sections)
    return counts


def _consistency_problems(files: list[ManualFile]) -> list[Problem]:
    problems = []
    seen: dict[tuple[str, dt.date], str] = {}
    for f in files:
        key = (f.section, f.effective_from)
        if key in seen:
            problems.append(Problem(f.file, None, "effective_from",
                                    f"section {f.section} already has a version effective {f.effective_from} in {seen[key]}"))
        seen[key] = f.file
    return problems


def _plan(files: list[ManualFile], problems: list[Problem]) -> list[tuple[ManualFile, int | None]]:
    """(file, version number to create or None when unchanged), checking files against the database."""
    existing: dict[str, list[ManualSectionVersion]] = {}
    for v in ManualSectionVersion.objects.filter(section__number__in={f.section for f in files}).select_related("section"):
        existing.setdefault(v.section.number, []).append(v)
    plan = []
    by_section: dict[str, list[ManualFile]] = {}
    for f in files:
        by_section.setdefault(f.section, []).append(f)
    for number, group in by_section.items():
        stored = {v.effective_from: v for v in existing.get(number, [])}
        latest = max(stored) if stored else None
        next_version = max((v.version for v in stored.values()), default=0) + 1
        for f in sorted(group, key=lambda f: f.effective_from):
            old = stored.get(f.effective_from)
            if old is not None:
                if old.sha256 != f.sha256:
                    problems.append(Problem(f.file, None, "effective_from",
                                            f"section {number} version {old.version} effective {f.effective_from} was "
                                            "imported with different text; an amendment needs its own effective_from"))
                plan.append((f, None))
                continue
            if latest is not None and f.effective_from < latest:
                problems.append(Problem(f.file, None, "effective_from",
                                        f"section {number} already has a version effective {latest}; a new version "
                                        "cannot take effect before it"))
                continue
            if next_version > 1 and not (f.reason or f.memo):
                problems.append(Problem(f.file, None, "reason", f"an amendment of section {number} needs a reason or memo"))
            plan.append((f, next_version))
            next_version += 1
    return plan


# --------------------------------------------------------------------------------------------
# Reading


def _versions_on(day: dt.date, *, section: str | None = None, include_withdrawn: bool = False) -> list[ManualSectionVersion]:
    """The version of each section in force on ``day`` (the latest with effective_from <= day)."""
    qs = ManualSectionVersion.objects.filter(effective_from__lte=day).select_related("section", "section__chapter")
    if section is not None:
        qs = qs.filter(section__number=section)
    current: dict[int, ManualSectionVersion] = {}
    for v in qs.order_by("section_id", "effective_from"):
        current[v.section_id] = v
    out = [v for v in current.values() if include_withdrawn or not v.withdrawn]
    return sorted(out, key=lambda v: v.section.sort_key)


def access_section(number: str) -> ManualSection:
    section = ManualSection.objects.select_related("chapter").filter(number=number).first()
    if section is None:
        raise NotFound("unknown_section", f"no manual section {number!r}")
    return section


def _effective_to(version: ManualSectionVersion) -> dt.date | None:
    nxt = (ManualSectionVersion.objects.filter(section_id=version.section_id, effective_from__gt=version.effective_from)
           .order_by("effective_from").values_list("effective_from", flat=True).first())
    return nxt


def _version_dict(v: ManualSectionVersion, *, body: bool) -> dict:
    doc = {"section": v.section.number, "chapter": v.section.chapter.number, "chapter_title": v.section.chapter.title,
           "title": v.title, "version": v.version, "effective_from": v.effective_from.isoformat(),
           "memo": v.memo, "reason": v.reason, "withdrawn": v.withdrawn}
    if body:
        doc["body"] = v.body
    return doc


def table_of_contents(*, as_of: dt.date | None = None) -> dict:
    as_of = as_of or clock.today()
    chapters: list[dict] = []
    for v in _versions_on(as_of):
        chapter = v.section.chapter
        if not chapters or chapters[-1]["chapter"] != chapter.number:
            chapters.append({"chapter": chapter.number, "title": chapter.title, "sections": []})
        chapters[-1]["sections"].append({"section": v.section.number, "title": v.title, "version": v.version,
                                         "effective_from": v.effective_from.isoformat()})
    return {"as_of": as_of.isoformat(), "chapters": chapters}


def show_section(number: str, *, as_of: dt.date | None = None) -> dict:
    """The section's text in force on ``as_of``, with its version, dates, memo and owner."""
    as_of = as_of or clock.today()
    section = access_section(number)
    versions = _versions_on(as_of, section=number, include_withdrawn=True)
    if not versions:
        first = section.versions.order_by("effective_from").values_list("effective_from", flat=True).first()
        raise NotFound("section_not_in_force", f"section {number} was not in force on {as_of} (first version: {first})")
    v = versions[0]
    if v.withdrawn:
        raise NotFound("section_withdrawn", f"section {number} was withdrawn on {v.effective_from} ({v.reason or v.memo})")
    end = _effective_to(v)
    return {**_version_dict(v, body=True), "as_of": as_of.isoformat(), "effective_to": end.isoformat() if end else None,
            "owner": section.owner, "review_interval_days": section.review_interval_days,
            "applies_to": section.applies_to_units}


def section_history(number: str) -> dict:
    section = access_section(number)
    versions = section.versions.order_by("version")
    return {"section": number, "owner": section.owner,
            "versions": [{"version": v.version, "effective_from": v.effective_from.isoformat(), "title": v.title,
                          "memo": v.memo, "reason": v.reason, "withdrawn": v.withdrawn} for v in versions]}


def diff(*, start: dt.date, end: dt.date, section: str | None = None) -> dict:
    """What changed between the manual in force on ``start`` and on ``end``: added, amended, withdrawn sections.

    An amended section lists every version that took effect after ``start`` up to ``end``
    (with its memo and reason) and a unified diff of the two texts.
    """
    if end < start:
        raise UsageError("bad_period", f"--to {end} is before --from {start}")
    if section is not None:
        access_section(section)
    before = {v.section_id: v for v in _versions_on(start, section=section)}
    after = {v.section_id: v for v in _versions_on(end, section=section)}
    changes = []
    for section_id in sorted(before.keys() | after.keys(), key=lambda s: (after.get(s) or before.get(s)).section.sort_key):
        old, new = before.get(section_id), after.get(section_id)
        if old is not None and new is not None and old.pk == new.pk:
            continue
        ref = new or old
        between = (ManualSectionVersion.objects.filter(section_id=section_id, effective_from__gt=start, effective_from__lte=end)
                   .order_by("effective_from"))
        change = "added" if old is None else "withdrawn" if new is None else "amended"
        text = "".join(difflib.unified_diff(
            (old.body if old else "").splitlines(keepends=True), (new.body if new else "").splitlines(keepends=True),
            fromfile=f"{ref.section.number} v{old.version} ({old.effective_from})" if old else "/dev/null",
            tofile=f"{ref.section.number} v{new.version} ({new.effective_from})" if new else "/dev/null"))
        changes.append({"section": ref.section.number, "title": (new or old).title, "change": change,
                        "from_version": old.version if old else None, "to_version": new.version if new else None,
                        "amendments": [{"version": v.version, "effective_from": v.effective_from.isoformat(),
                                        "memo": v.memo, "reason": v.reason, "withdrawn": v.withdrawn} for v in between],
                        "diff": text})
    return {"from": start.isoformat(), "to": end.isoformat(), "changes": changes}


# --------------------------------------------------------------------------------------------
# Search: one service, two backends


def _terms(query: str) -> list[str]:
    terms = re.findall(r"\w+", query.lower())
    if not terms:
        raise UsageError("empty_query", "the search needs at least one word")
    return terms


def search(query: str, *, as_of: dt.date | None = None, limit: int = 20) -> dict:
    """Sections in force on ``as_of`` whose text holds every word of ``query`` (stemmed), best first."""
    as_of = as_of or clock.today()
    if not 1 <= limit <= SEARCH_LIMIT_MAX:
        raise UsageError("invalid_limit", f"limit must be between 1 and {SEARCH_LIMIT_MAX}")
    terms = _terms(query)
    in_force = {v.pk: v for v in _versions_on(as_of)}
    if not in_force:
        return {"query": query, "as_of": as_of.isoformat(), "results": []}
    ids = sorted(in_force)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(
                "SELECT v.id, ts_rank(to_tsvector('english', v.title || ' ' || v.body), q) AS score, "
                "ts_headline('english', v.body, q, %s) "
                "FROM policy_manualsectionversion v, plainto_tsquery('english', %s) q "
                "WHERE to_tsvector('english', v.title || ' ' || v.body) @@ q AND v.id = ANY(%s) "
                "ORDER BY score DESC, v.id LIMIT %s",
                [f"StartSel={MARK}, StopSel={MARK}, MaxWords=30, MinWords=10, HighlightAll=false",
                 " ".join(terms), ids, limit])
        else:
            marks = ", ".join("%s" for _ in ids)
            cur.execute(
                "SELECT rowid, bm25(policy_manual_fts) AS score, snippet(policy_manual_fts, 1, %s, %s, '…', 24) "
                f"FROM policy_manual_fts WHERE policy_manual_fts MATCH %s AND rowid IN ({marks}) "
                "ORDER BY score, rowid LIMIT %s",
                [MARK, MARK, " ".join(f'"{t}"' for t in terms), *ids, limit])
        rows = cur.fetchall()
    results = []
    for version_id, score, snippet in rows:
        v = in_force[version_id]
        results.append({"section": v.section.number, "title": v.title, "version": v.version,
                        "effective_from": v.effective_from.isoformat(), "snippet": snippet, "score": round(float(score), 4)})
    return {"query": query, "as_of": as_of.isoformat(), "results": results}


# --------------------------------------------------------------------------------------------
# Reviews


def review_status(*, as_of: dt.date | None = None, overdue_only: bool = False) -> dict:
    """Each section in force: when it was last reviewed (a review or an amendment), when the next review is due.

    Due = last review + the section's interval; a section is overdue when ``as_of`` is after
    the due date.
    """
    as_of = as_of or clock.today()
    last_review = dict(ManualReview.objects.filter(reviewed_on__lte=as_of).values_list("section_id")
                       .annotate(last=Max("reviewed_on")).values_list("section_id", "last"))
    rows = []
    for v in _versions_on(as_of):
        s = v.section
        latest = max(filter(None, [last_review.get(s.pk), v.effective_from]))
        due = latest + dt.timedelta(days=s.review_interval_days)
        overdue_days = (as_of - due).days
        if overdue_only and overdue_days <= 0:
            continue
        rows.append({"section": s.number, "title": v.title, "owner": s.owner, "review_interval_days": s.review_interval_days,
                     "last_reviewed_on": latest.isoformat(), "review_due_on": due.isoformat(),
                     "days_overdue": max(overdue_days, 0)})
    return {"as_of": as_of.isoformat(), "sections": rows}


def do_record_review(*, section: str, reviewed_on: dt.date | None = None, note: str = "", actor=None,
                     actor_label: str | None = None) -> dict:
    """Record that the section's owner reviewed it (no change to the text); restarts its review interval."""
    today = clock.today()
    reviewed_on = reviewed_on or today
    if reviewed_on > today:
        raise UsageError("date_in_future", f"the review date {reviewed_on} is after today ({today})")
    s = access_section(section)
    with transaction.atomic():
        review = ManualReview.objects.create(section=s, reviewed_on=reviewed_on, reviewed_by=_label(actor, actor_label),
                                             note=note.strip(), recorded_at=clock.now())
        audit.record(action="manual.reviewed", actor=actor, actor_label=actor_label, object_type="manual_section",
                     object_id=s.number, details={"reviewed_on": reviewed_on, "note": review.note})
    return {"section": s.number, "reviewed_on": reviewed_on.isoformat(), "reviewed_by": review.reviewed_by,
            "review_due_on": (reviewed_on + dt.timedelta(days=s.review_interval_days)).isoformat()}


# --------------------------------------------------------------------------------------------
# Acknowledgments


def _officer(officer_id: int) -> Officer:
    officer = Officer.objects.select_related("office").filter(pk=officer_id).first()
    if officer is None:
        raise NotFound("unknown_officer", f"no officer with id {officer_id}")
    return officer


def do_acknowledge(*, officer_id: int, section: str, actor=None, actor_label: str | None = None) -> dict:
    """The officer acknowledges the version of ``section`` in force today (idempotent)."""
    officer = _officer(officer_id)
    today = clock.today()
    current = _versions_on(today, section=section, include_withdrawn=True)
    access_section(section)
    if not current or current[0].withdrawn:
        raise Conflict("section_not_in_force", f"section {section} has no version in force today")
    version = current[0]
    if officer.unit not in version.section.applies_to_units:
        raise Conflict("section_not_applicable",
                       f"section {section} applies to {', '.join(version.section.applies_to_units) or 'no unit'}, "
                       f"not to the {officer.unit} unit of officer {officer.pk}")
    with transaction.atomic():
        ack, created = ManualAcknowledgment.objects.get_or_create(
            officer=officer, version=version, defaults={"office_id": officer.office_id, "acknowledged_at": clock.now()})
        if created:
            audit.record(action="manual.acknowledged", actor=actor, actor_label=actor_label, object_type="officer",
                         object_id=officer.pk, office_id=officer.office_id,
                         details={"section": section, "version": version.version})
    return {"officer_id": officer.pk, "section": section, "version": version.version,
            "acknowledged_at": ack.acknowledged_at.isoformat(), "created": created}


def unacknowledged(*, office: str | None = None, section: str | None = None, as_of: dt.date | None = None) -> dict:
    """For each section in force that applies to a unit: officers of that unit who have not acknowledged its version."""
    as_of = as_of or clock.today()
    if section is not None:
        access_section(section)
    officers = Officer.objects.exclude(status=OfficerStatus.SEPARATED).select_related("office")
    if office:
        officers = officers.filter(office=access_office(office))
    by_unit: dict[str, list[Officer]] = {}
    for o in officers.order_by("office__code", "last_name", "first_name", "id"):
        by_unit.setdefault(o.unit, []).append(o)
    versions = [v for v in _versions_on(as_of, section=section) if v.section.applies_to_units]
    acked = set(ManualAcknowledgment.objects.filter(version__in=versions).values_list("version_id", "officer_id"))
    rows = []
    for v in versions:
        required = [o for unit in v.section.applies_to_units for o in by_unit.get(unit, [])]
        missing = [o for o in required if (v.pk, o.pk) not in acked]
        rows.append({"section": v.section.number, "title": v.title, "version": v.version,
                     "effective_from": v.effective_from.isoformat(), "required": len(required),
                     "acknowledged": len(required) - len(missing),
                     "missing": [{"officer_id": o.pk, "name": o.name, "office": o.office.code, "unit": o.unit}
                                 for o in missing]})
    return {"as_of": as_of.isoformat(), "office": office.upper() if office else None, "sections": rows}
