"""Policy services: install rule sets and cadence tables, explain, reclassify, compare, exceptions.

Naming follows docs/development.md (conventions): ``access_*`` fetches (raising NotFound), ``check_*`` validates,
``do_*`` changes state and writes its audit event in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Q

from caseload.core import audit, bulk, clock
from caseload.core.errors import Conflict, NotFound, UsageError
from caseload.docket import anumber
from caseload.docket.models import Case, CaseStatus, Person
from caseload.offices.models import FieldOffice
from caseload.offices.services import access_office
from caseload.policy import engine
from caseload.policy.cadence import CadenceDoc, parse_cadence
from caseload.policy.casewrite import update_cases
from caseload.policy.documents import Header, InvalidDocument, Locator, Problem, periods_overlap
from caseload.policy.facts import case_facts, fact_columns
from caseload.policy.models import CadenceTable, PriorityException, RuleSet
from caseload.policy.ruleset import EXCEPTION_RULE, RuleSetDoc, condition_as_json, parse_rule_set

DATA_DIR = Path(__file__).with_name("data")
SHIPPED_RULE_SETS = DATA_DIR / "rule_sets"
SHIPPED_CADENCE_TABLES = DATA_DIR / "cadence"
EXCEPTION_MARK = -2  # rule index of a case whose level a director's exception set

Progress = Callable[[str, int, int], None]  # (description, done, total)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _iso(value):
    return value.isoformat() if isinstance(value, dt.date) else value


# --------------------------------------------------------------------------------------------
# Installing versioned files


class InvalidPolicyFile(UsageError):
    """One or more files were refused; ``details['problems']`` lists every problem."""

    def __init__(self, problems: list[Problem], what: str) -> None:
        files = sorted({p.file for p in problems})
        super().__init__(f"invalid_{what.replace(' ', '_')}",
                         f"{len(problems)} problem(s) in {', '.join(files)}; nothing was loaded",
                         problems=[p.as_dict() for p in problems])
        self.problems = problems


@dataclass(frozen=True)
class _Parsed:
    file: str
    text: str
    doc: object  # RuleSetDoc or CadenceDoc

    @property
    def header(self) -> Header:
        return self.doc.header


def _lock(model) -> None:
    """Serialise installs so two loads cannot both pass the overlap check (SQLite: the IMMEDIATE transaction)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(f"LOCK TABLE {bulk.quote(model._meta.db_table)} IN SHARE ROW EXCLUSIVE MODE")


def _overlap_problems(headers: list[tuple[str, str, Header]], model, kind: str) -> list[Problem]:
    """Problems for every pair of periods (new against installed, new against new) that overlap.

    ``headers`` are (file, text, header) of the versions being loaded; an installed version of
    the same id is compared in its new form only (it is being replaced).
    """
    loading = {h.id for _, _, h in headers}
    installed = [(r.id, r.effective_from, r.effective_to)
                 for r in model.objects.exclude(id__in=loading).order_by("effective_from")]
    problems = []
    for i, (file, text, h) in enumerate(headers):
        others = installed + [(o.id, o.effective_from, o.effective_to) for _, _, o in headers[:i]]
        for other_id, other_from, other_to in others:
            if periods_overlap(h.effective_from, h.effective_to, other_from, other_to):
                problems.append(Problem(file, _line_of(text, "effective_from"), "effective_from",
                                        f"period [{h.effective_from}, {h.effective_to or 'open'}) overlaps {kind} "
                                        f"{other_id!r} [{other_from}, {other_to or 'open'}); effective_to is exclusive, "
                                        "so adjacent versions share their boundary date"))
    return problems


def _line_of(text: str, key: str) -> int | None:
    return Locator(text).find(key=key)


def _install(files: Sequence[tuple[str, str]], *, model, kind: str, parse: Callable[[str, str], object],
             extra_checks: Callable[[_Parsed, object | None], list[Problem]], row_fields: Callable[[object], dict],
             replace: bool, actor, actor_label: str | None) -> list[dict]:
    """Check every file, then install all of them or none (see :func:`do_load_rule_sets`)."""
    problems: list[Problem] = []
    parsed: list[_Parsed] = []
    unparsed: list[tuple[str, str, Header]] = []  # refused files whose period could still be read
    for name, text in files:
        try:
            parsed.append(_Parsed(name, text, parse(text, name)))
        except InvalidDocument as exc:
            problems += exc.problems
            h = exc.header
            if h is not None and h.id and h.effective_from != dt.date.min and (h.effective_to or dt.date.max) > h.effective_from:
                unparsed.append((name, text, h))
    seen: dict[str, str] = {}
    for item in parsed:
        if item.header.id in seen:
            problems.append(Problem(item.file, _line_of(item.text, "id"), "id",
                                    f"{kind} {item.header.id!r} is also in {seen[item.header.id]}"))
        seen[item.header.id] = item.file
    results: list[dict] = []
    with transaction.atomic():
        _lock(model)
        existing = {r.id: r for r in model.objects.filter(id__in=list(seen))}
        to_write: list[_Parsed] = []
        for item in parsed:
            row = existing.get(item.header.id)
            if row is not None and row.sha256 == _sha256(item.text):
                results.append({"id": row.id, "status": "unchanged"})
                continue
            if row is not None and not replace:
                problems.append(Problem(item.file, _line_of(item.text, "id"), "id",
                                        f"{kind} {row.id!r} is already installed with different content; "
                                        "pass --replace to replace it"))
                continue
            problems += extra_checks(item, row)
            to_write.append(item)
        problems += _overlap_problems([(p.file, p.text, p.header) for p in to_write] + unparsed, model, kind)
        if problems:
            raise InvalidPolicyFile(problems, kind)
        now = clock.now()
        label = actor_label or (actor.get_username() if actor is not None else "")
        for item in to_write:
            h = item.header
            old = existing.get(h.id)
            fields = dict(title=h.title, source=h.source, effective_from=h.effective_from, effective_to=h.effective_to,
                          document=item.text, sha256=_sha256(item.text), loaded_at=now, loaded_by=label,
                          **row_fields(item.doc))
            model.objects.update_or_create(id=h.id, defaults=fields)
            status = "replaced" if old is not None else "installed"
            audit.record(action=f"policy.{kind.replace(' ', '_')}_{status}", actor=actor, actor_label=actor_label,
                         object_type=kind.replace(" ", "_"), object_id=h.id,
                         details={"file": item.file, "sha256": fields["sha256"], "replaced_sha256": old.sha256 if old else None,
                                  "effective_from": h.effective_from, "effective_to": h.effective_to})
            results.append({"id": h.id, "status": status})
    order = {p.header.id: i for i, p in enumerate(parsed)}
    results.sort(key=lambda r: order.get(r["id"], 0))
    return results


def _read_files(paths: Sequence[Path]) -> list[tuple[str, str]]:
    out = []
    for path in paths:
        try:
            out.append((str(path), Path(path).read_text(encoding="utf-8")))
        except OSError as exc:
            raise UsageError("unreadable_file", f"cannot read {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise UsageError("unreadable_file", f"{path} is not UTF-8 text") from None
    return out


def do_load_rule_sets(files: Sequence[tuple[str, str]], *, replace: bool = False, actor=None,
                      actor_label: str | None = None) -> list[dict]:
    """Validate and install rule-set files, all or none.

    ``files`` are (name, TOML text). A file identical to the installed set of its id is
    "unchanged"; a different file with an installed id is refused unless ``replace``. Every
    problem of every file (syntax, unknown fact, bad operator, unknown level, missing citation,
    overlapping effective dates, …) is collected before anything is written; then the whole
    batch is refused with :class:`InvalidPolicyFile` and the database is left as it was.
    """

    def extra(item: _Parsed, row: RuleSet | None) -> list[Problem]:
        """On replace: a removed level must not be in use by open exceptions or installed cadence tables."""
        if row is None:
            return []
        codes = set(item.doc.level_codes())
        used = set(PriorityException.objects.filter(rule_set_id=row.id, revoked_on__isnull=True)
                   .exclude(level__in=codes).values_list("level", flat=True))
        problems = [Problem(item.file, _line_of(item.text, "levels"), "levels",
                            f"level {code!r} is removed but open director exceptions use it; revoke them first")
                    for code in sorted(used)]
        for table_id, document in CadenceTable.objects.filter(priority_rule_set=row.id).values_list("id", "document"):
            named = {code for rule in tomllib.loads(document).get("rules", []) for code in rule.get("priority", [])}
            problems += [Problem(item.file, _line_of(item.text, "levels"), "levels",
                                 f"level {code!r} is removed but cadence table {table_id!r} names it; replace that table first")
                         for code in sorted(named - codes)]
        return problems

    def fields(doc: RuleSetDoc) -> dict:
        return {"levels": [{"code": lv.code, "label": lv.label} for lv in doc.levels], "default_level": doc.default_level}

    return _install(files, model=RuleSet, kind="rule set", parse=lambda text, name: parse_rule_set(text, file=name),
                    extra_checks=extra, row_fields=fields, replace=replace, actor=actor, actor_label=actor_label)


def installed_levels() -> dict[str, list[str]]:
    return {rid: [lv["code"] for lv in levels] for rid, levels in RuleSet.objects.values_list("id", "levels")}


def do_load_cadence_tables(files: Sequence[tuple[str, str]], *, replace: bool = False, actor=None,
                           actor_label: str | None = None) -> list[dict]:
    """Validate and install reporting-cadence tables, all or none (as :func:`do_load_rule_sets`)."""
    levels = installed_levels()
    return _install(files, model=CadenceTable, kind="cadence table",
                    parse=lambda text, name: parse_cadence(text, file=name, levels=levels),
                    extra_checks=lambda item, row: [], row_fields=lambda doc: {"priority_rule_set": doc.priority_rule_set},
                    replace=replace, actor=actor, actor_label=actor_label)


def load_rule_set_paths(paths: Sequence[Path], **kwargs) -> list[dict]:
    return do_load_rule_sets(_read_files(paths), **kwargs)


def load_cadence_paths(paths: Sequence[Path], **kwargs) -> list[dict]:
    return do_load_cadence_tables(_read_files(paths), **kwargs)


def do_load_shipped(*, actor=None, actor_label: str | None = None) -> dict:
    """Install the shipped rule sets and cadence tables whose ids are not installed yet.

    An installed id is left alone even if the shipped file changed (a replacement is a
    deliberate ``--replace``), so this is safe to run on every upgrade.
    """
    def missing(directory: Path, model) -> list[Path]:
        have = set(model.objects.values_list("id", flat=True))
        return [path for path in sorted(directory.glob("*.toml"))
                if tomllib.loads(path.read_text(encoding="utf-8")).get("id") not in have]

    rule_sets = load_rule_set_paths(missing(SHIPPED_RULE_SETS, RuleSet), actor=actor, actor_label=actor_label)
    tables = load_cadence_paths(missing(SHIPPED_CADENCE_TABLES, CadenceTable), actor=actor, actor_label=actor_label)
    return {"rule_sets": rule_sets, "cadence_tables": tables}


# --------------------------------------------------------------------------------------------
# Reading installed versions

_parsed_cache: dict[str, object] = {}


def _parsed(row, parse: Callable[[str], object]):
    doc = _parsed_cache.get(row.sha256)
    if doc is None:
        doc = _parsed_cache[row.sha256] = parse(row.document)
    return doc


def _rule_set_doc(row: RuleSet) -> RuleSetDoc:
    return _parsed(row, lambda text: parse_rule_set(text, file=row.id))


def access_rule_set(rule_set_id: str) -> RuleSetDoc:
    row = RuleSet.objects.filter(id=rule_set_id).first()
    if row is None:
        known = ", ".join(RuleSet.objects.values_list("id", flat=True)) or "none installed"
        raise NotFound("unknown_rule_set", f"no rule set {rule_set_id!r} (installed: {known})")
    return _rule_set_doc(row)


def _in_force(model, day: dt.date):
    return model.objects.filter(Q(effective_to__isnull=True) | Q(effective_to__gt=day), effective_from__lte=day).first()


def _coverage(model) -> str:
    periods = [f"{r.id} [{r.effective_from}, {r.effective_to or 'open'})" for r in model.objects.order_by("effective_from")]
    return "; ".join(periods) or "nothing is installed (run `caseload policy load --shipped`)"


def rule_set_in_force(day: dt.date) -> RuleSetDoc:
    row = _in_force(RuleSet, day)
    if row is None:
        raise NotFound("no_rule_set_in_force", f"no rule set is in force on {day}; installed: {_coverage(RuleSet)}")
    return _rule_set_doc(row)


def resolve_rule_set(rule_set_id: str | None, as_of: dt.date) -> RuleSetDoc:
    return access_rule_set(rule_set_id) if rule_set_id else rule_set_in_force(as_of)


def list_rule_sets() -> list[dict]:
    return [{"id": r.id, "title": r.title, "effective_from": r.effective_from.isoformat(),
             "effective_to": r.effective_to.isoformat() if r.effective_to else None, "source": r.source}
            for r in RuleSet.objects.order_by("effective_from")]


def access_cadence_table(table_id: str) -> CadenceDoc:
    row = CadenceTable.objects.filter(id=table_id).first()
    if row is None:
        raise NotFound("unknown_cadence_table", f"no cadence table {table_id!r}")
    return _parsed(row, lambda text: parse_cadence(text, file=row.id, levels=installed_levels()))


def cadence_table_in_force(day: dt.date) -> CadenceDoc:
    row = _in_force(CadenceTable, day)
    if row is None:
        raise NotFound("no_cadence_table_in_force",
                       f"no reporting-cadence table is in force on {day}; installed: {_coverage(CadenceTable)}")
    return access_cadence_table(row.id)


def list_cadence_tables() -> list[dict]:
    return [{"id": r.id, "title": r.title, "effective_from": r.effective_from.isoformat(),
             "effective_to": r.effective_to.isoformat() if r.effective_to else None, "source": r.source,
             "priority_rule_set": r.priority_rule_set}
            for r in CadenceTable.objects.order_by("effective_from")]


# --------------------------------------------------------------------------------------------
# Explaining one case


def access_person(a_number: str) -> Person:
    try:
        digits = anumber.normalize(a_number)
    except ValidationError as exc:
        raise UsageError("invalid_a_number", exc.messages[0]) from None
    person = Person.objects.filter(a_number=digits).first()
    if person is None:
        raise NotFound("unknown_a_number", f"no person with A-number {anumber.display(digits)}")
    return person


def access_open_case(person: Person, case_id: int | None = None) -> Case:
    """The person's open case (``case_id`` picks one when there are several)."""
    cases = list(person.cases.filter(status=CaseStatus.OPEN).order_by("id"))
    if case_id is not None:
        chosen = [c for c in cases if c.pk == case_id]
        if not chosen:
            raise NotFound("unknown_case", f"{person.a_number_display} has no open case {case_id}")
        return chosen[0]
    if not cases:
        raise NotFound("no_open_case", f"{person.a_number_display} has no open case")
    if len(cases) > 1:
        raise Conflict("several_open_cases", f"{person.a_number_display} has {len(cases)} open cases "
                                             f"({', '.join(str(c.pk) for c in cases)}); pick one with --case",
                       case_ids=[c.pk for c in cases])
    return cases[0]


def active_exception(case_id: int, rule_set_id: str, day: dt.date) -> PriorityException | None:
    return (PriorityException.objects.filter(case_id=case_id, rule_set_id=rule_set_id, decided_on__lte=day)
            .filter(Q(revoked_on__isnull=True) | Q(revoked_on__gt=day)).order_by("-decided_on", "-id").first())


def _rule_reason(doc: RuleSetDoc, rule, facts: dict, kind: str) -> dict:
    return {"kind": kind, "code": rule.reason, "level": rule.level, "label": rule.label, "cite": rule.cite,
            "assessment_required": rule.assessment,
            "conditions": [{**condition_as_json(c), "actual": _iso(facts[c.fact])} for c in rule.when]}


def decide(doc: RuleSetDoc, case: Case, *, as_of: dt.date) -> tuple[str, str | None, list[dict], dict]:
    """(level, deciding rule or None, reasons, facts) for one case: the reference implementation."""
    facts = case_facts(case, as_of=as_of)
    outcome = engine.evaluate_one(doc, facts)
    matching = [r for r in doc.rules if all(engine.holds(c, facts) for c in r.when)]
    reasons: list[dict] = []
    level, rule = outcome.level, outcome.rule.reason if outcome.rule else None
    exception = active_exception(case.pk, doc.id, as_of)
    if exception is not None:
        level, rule = exception.level, EXCEPTION_RULE
        reasons.append({"kind": "exception", "code": EXCEPTION_RULE, "level": exception.level,
                        "label": f"Field office director's exception: {exception.reason}",
                        "approved_by": exception.approved_by, "decided_on": exception.decided_on.isoformat(),
                        "exception_id": exception.pk})
    for i, r in enumerate(matching):
        kind = "rule" if i == 0 and exception is None else ("overridden_rule" if i == 0 else "also_matches")
        reasons.append(_rule_reason(doc, r, facts, kind))
    if not matching:
        reasons.append({"kind": "default", "code": "no_rule_matched", "level": doc.default_level,
                        "label": "No rule of the set matches; the default level applies"})
    for f in outcome.factors:
        reasons.append({"kind": f.kind, "code": f.code, "label": f.label, "cite": f.cite})
    return level, rule, reasons, facts


def explain(a_number: str, *, as_of: dt.date | None = None, rule_set_id: str | None = None, case_id: int | None = None,
            actor=None, actor_label: str | None = None) -> dict:
    """Why a person's open case has its priority: the level, the deciding rule, every reason and the facts.

    Reading a person's record is audited (``person.priority_explained``).
    """
    as_of = as_of or clock.today()
    doc = resolve_rule_set(rule_set_id, as_of)
    person = access_person(a_number)
    case = access_open_case(person, case_id)
    level, rule, reasons, facts = decide(doc, case, as_of=as_of)
    audit.record(action="person.priority_explained", actor=actor, actor_label=actor_label or "", object_type="person",
                 object_id=person.a_number, office_id=case.office_id,
                 details={"case_id": case.pk, "rule_set": doc.id, "as_of": as_of, "priority": level})
    return {"a_number": person.a_number_display, "rule_set": doc.id, "as_of": as_of.isoformat(), "priority": level,
            "rule": rule, "reasons": reasons, "facts": {k: _iso(v) for k, v in sorted(facts.items())}}


# --------------------------------------------------------------------------------------------
# Every open case


@dataclass
class Classification:
    doc: RuleSetDoc
    as_of: dt.date
    case_id: np.ndarray
    office_id: np.ndarray
    level: np.ndarray     # index into doc.levels
    rule: np.ndarray      # index into doc.rules; -1 default level; EXCEPTION_MARK exception
    current: np.ndarray | None
    seconds: dict

    def codes(self) -> np.ndarray:
        return np.array(self.doc.level_codes(), dtype=object)[self.level]

    def counts(self) -> dict[str, int]:
        per = np.bincount(self.level, minlength=len(self.doc.levels))
        return {code: int(per[i]) for i, code in enumerate(self.doc.level_codes())}


def _apply_exceptions(doc: RuleSetDoc, as_of: dt.date, case_ids: np.ndarray, level: np.ndarray, rule: np.ndarray) -> None:
    rows = list(PriorityException.objects.filter(rule_set_id=doc.id, decided_on__lte=as_of)
                .filter(Q(revoked_on__isnull=True) | Q(revoked_on__gt=as_of))
                .order_by("decided_on", "id").values_list("case_id", "level"))
    if not rows or not len(case_ids):
        return
    codes = doc.level_codes()
    latest = dict(rows)  # the last decided exception per case wins
    ids = np.fromiter(latest.keys(), dtype=np.int64)
    idx = np.fromiter((codes.index(v) for v in latest.values()), dtype=np.int64)
    pos = np.minimum(np.searchsorted(case_ids, ids), len(case_ids) - 1)
    found = case_ids[pos] == ids
    level[pos[found]] = idx[found]
    rule[pos[found]] = EXCEPTION_MARK


def classify_open_cases(doc: RuleSetDoc, *, as_of: dt.date, with_current: bool = False,
                        case_ids: Sequence[int] | None = None) -> Classification:
    """Levels of every open case under ``doc`` as of ``as_of``: SQL for the facts, NumPy for the rules,
    then the directors' exceptions."""
    t0 = time.perf_counter()
    cols = fact_columns(doc.rule_facts(), as_of=as_of, case_ids=case_ids,
                        current_levels=(doc.id, doc.level_codes()) if with_current else None)
    t1 = time.perf_counter()
    level, rule = engine.evaluate_columns(doc, cols.values, len(cols))
    _apply_exceptions(doc, as_of, cols.case_id, level, rule)
    t2 = time.perf_counter()
    return Classification(doc, as_of, cols.case_id, cols.office_id, level, rule, cols.current,
                          {"read": t1 - t0, "compute": t2 - t1})


def _write_levels(doc: RuleSetDoc, case_ids: np.ndarray, level: np.ndarray, progress: Progress | None) -> None:
    """Store (priority, priority_rank, priority_rule_set) for the given cases and bump their version."""
    codes = np.array(doc.level_codes(), dtype=object)
    rows = list(zip(case_ids.tolist(), codes[level].tolist(), (level + 1).tolist(), [doc.id] * len(level), strict=True))
    update_cases([("priority", "varchar(24)"), ("priority_rank", "smallint"), ("priority_rule_set", "varchar(64)")], rows,
                 progress=(lambda done, total: progress("writing", done, total)) if progress else None)


@dataclass
class ReclassifyResult:
    rule_set: str
    as_of: dt.date
    cases: int
    counts: dict[str, int]
    changed: int
    seconds: float
    phases: dict[str, float]

    def as_dict(self) -> dict:
        """The documented JSON document of ``caseload policy reclassify``."""
        return {"rule_set": self.rule_set, "as_of": self.as_of.isoformat(), "cases": self.cases, "counts": self.counts,
                "changed": self.changed, "seconds": self.seconds}


def do_reclassify(*, as_of: dt.date | None = None, rule_set_id: str | None = None, actor=None,
                  actor_label: str | None = None, progress: Progress | None = None) -> ReclassifyResult:
    """Recompute and store every open case's priority under one rule set; write only the rows that change.

    Set-based: one SQL read of the facts the rules need, NumPy for the rules, one bulk write
    of the changed rows (executemany on SQLite, COPY + UPDATE … FROM on PostgreSQL), all in one
    transaction with one audit event. ``phases`` times the read, compute and write steps.
    """
    started = time.perf_counter()
    as_of = as_of or clock.today()
    doc = resolve_rule_set(rule_set_id, as_of)
    with transaction.atomic():
        if progress:
            progress("reading facts", 0, 1)
        found = classify_open_cases(doc, as_of=as_of, with_current=True)
        changed = found.level != found.current
        t_write = time.perf_counter()
        _write_levels(doc, found.case_id[changed], found.level[changed], progress)
        phases = {**found.seconds, "write": time.perf_counter() - t_write}
        result = ReclassifyResult(doc.id, as_of, int(len(found.case_id)), found.counts(), int(changed.sum()),
                                  round(time.perf_counter() - started, 3), {k: round(v, 3) for k, v in phases.items()})
        audit.record(action="policy.reclassified", actor=actor, actor_label=actor_label, object_type="rule_set",
                     object_id=doc.id, details={k: v for k, v in result.as_dict().items() if k != "seconds"})
    return result


def compare(rule_set_ids: Sequence[str], *, as_of: dt.date | None = None) -> dict:
    """How many open cases change level between two rule sets (both applied as of the same date), by office."""
    if len(rule_set_ids) != 2 or rule_set_ids[0] == rule_set_ids[1]:
        raise UsageError("two_rule_sets_needed", "give exactly two different rule sets: --rule-set A --rule-set B")
    as_of = as_of or clock.today()
    docs = [access_rule_set(r) for r in rule_set_ids]
    with transaction.atomic():  # one snapshot of the docket for both passes
        a, b = (classify_open_cases(d, as_of=as_of) for d in docs)
    if not np.array_equal(a.case_id, b.case_id):
        raise Conflict("docket_changed", "the docket changed between the two passes; run the comparison again")
    codes_a, codes_b = a.codes(), b.codes()
    changed = codes_a != codes_b
    prio_a = a.level != docs[0].level_codes().index(docs[0].default_level)
    prio_b = b.level != docs[1].level_codes().index(docs[1].default_level)
    offices = dict(FieldOffice.objects.values_list("id", "code"))
    by_office = []
    for office_id in np.unique(a.office_id):
        m = a.office_id == office_id
        by_office.append({"office": offices.get(int(office_id), str(office_id)), "cases": int(m.sum()),
                          "changed": int((changed & m).sum()), "became_priority": int((~prio_a & prio_b & m).sum()),
                          "ceased_priority": int((prio_a & ~prio_b & m).sum())})
    by_office.sort(key=lambda r: r["office"])
    transitions = []
    if len(codes_a):
        pair_index = a.level * len(docs[1].levels) + b.level
        values, counts = np.unique(pair_index, return_counts=True)
        la, lb = docs[0].level_codes(), docs[1].level_codes()
        for v, c in zip(values.tolist(), counts.tolist(), strict=True):
            transitions.append({"from": la[v // len(lb)], "to": lb[v % len(lb)], "cases": c})
    return {"rule_sets": list(rule_set_ids), "as_of": as_of.isoformat(), "cases": int(len(codes_a)),
            "changed": int(changed.sum()), "became_priority": int((~prio_a & prio_b).sum()),
            "ceased_priority": int((prio_a & ~prio_b).sum()), "by_office": by_office, "transitions": transitions}


# --------------------------------------------------------------------------------------------
# Field office directors' exceptions


def _exception_dict(e: PriorityException) -> dict:
    return {"id": e.pk, "case_id": e.case_id, "a_number": e.case.person.a_number_display, "office": e.office.code,
            "rule_set": e.rule_set_id, "level": e.level, "reason": e.reason, "approved_by": e.approved_by,
            "decided_on": e.decided_on.isoformat(), "recorded_at": e.recorded_at.isoformat(),
            "recorded_by": e.recorded_by, "revoked_on": e.revoked_on.isoformat() if e.revoked_on else None,
            "revoked_by": e.revoked_by, "revoke_reason": e.revoke_reason}


def _store_case_level(case: Case, doc: RuleSetDoc, level: str) -> None:
    """Store one case's level if it is classified under ``doc`` (the next reclassify would do the same)."""
    Case.objects.filter(pk=case.pk, priority_rule_set=doc.id).exclude(priority=level, priority_rank=doc.rank(level)) \
        .update(priority=level, priority_rank=doc.rank(level), version=F("version") + 1)


def _check_text(value: str, code: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise UsageError(code, f"{what} is required")
    return value


def do_grant_exception(*, a_number: str, level: str, reason: str, approved_by: str, rule_set_id: str | None = None,
                       decided_on: dt.date | None = None, case_id: int | None = None, actor=None,
                       actor_label: str | None = None) -> dict:
    """Record a field office director's exception: the case takes ``level`` under the rule set, whatever its rules say.

    The reason and the director's name are required; the decision date defaults to today and
    cannot be in the future. A case holds at most one open exception per rule set.
    """
    today = clock.today()
    decided_on = decided_on or today
    if decided_on > today:
        raise UsageError("decided_on_in_future", f"the decision date {decided_on} is after today ({today})")
    reason = _check_text(reason, "reason_required", "a reason")
    approved_by = _check_text(approved_by, "approver_required", "the approving field office director")
    doc = resolve_rule_set(rule_set_id, decided_on)
    if level not in doc.level_codes():
        raise UsageError("unknown_level", f"rule set {doc.id} has no level {level!r} (levels: {', '.join(doc.level_codes())})")
    person = access_person(a_number)
    with transaction.atomic():
        case = access_open_case(person, case_id)
        Case.objects.select_for_update().filter(pk=case.pk).first()
        if PriorityException.objects.filter(case=case, rule_set_id=doc.id, revoked_on__isnull=True).exists():
            raise Conflict("exception_exists", f"case {case.pk} already has an open exception under {doc.id}; revoke it first")
        computed, *_ = decide(doc, case, as_of=decided_on)
        exception = PriorityException.objects.create(
            case=case, office_id=case.office_id, rule_set_id=doc.id, level=level, reason=reason, approved_by=approved_by,
            decided_on=decided_on, recorded_at=clock.now(), recorded_by=actor_label or (actor.get_username() if actor else ""))
        if exception.active_on(today):
            _store_case_level(case, doc, level)
        audit.record(action="policy.exception_granted", actor=actor, actor_label=actor_label, object_type="case",
                     object_id=case.pk, office_id=case.office_id,
                     details={"exception_id": exception.pk, "rule_set": doc.id, "level": level, "computed_level": computed,
                              "reason": reason, "approved_by": approved_by, "decided_on": decided_on})
    return _exception_dict(exception)


def do_revoke_exception(*, exception_id: int, reason: str, revoked_on: dt.date | None = None, actor=None,
                        actor_label: str | None = None) -> dict:
    """End an exception from ``revoked_on`` (default today); the case's computed level applies again.

    Revoking on the decision date itself voids the exception: it never applied.
    """
    today = clock.today()
    revoked_on = revoked_on or today
    reason = _check_text(reason, "reason_required", "a reason")
    with transaction.atomic():
        exception = (PriorityException.objects.select_for_update().select_related("case", "case__person", "office")
                     .filter(pk=exception_id).first())
        if exception is None:
            raise NotFound("unknown_exception", f"no exception {exception_id}")
        if exception.revoked_on is not None:
            raise Conflict("exception_revoked", f"exception {exception_id} was already revoked on {exception.revoked_on}")
        if revoked_on < exception.decided_on:
            raise UsageError("revoked_before_decided",
                             f"the revocation date cannot be before the decision date {exception.decided_on}")
        exception.revoked_on = revoked_on
        exception.revoked_by = actor_label or (actor.get_username() if actor else "")
        exception.revoke_reason = reason
        exception.save(update_fields=["revoked_on", "revoked_by", "revoke_reason"])
        doc = access_rule_set(exception.rule_set_id)
        if not exception.active_on(today):
            level, *_ = decide(doc, exception.case, as_of=today)
            _store_case_level(exception.case, doc, level)
        audit.record(action="policy.exception_revoked", actor=actor, actor_label=actor_label, object_type="case",
                     object_id=exception.case_id, office_id=exception.office_id,
                     details={"exception_id": exception.pk, "rule_set": exception.rule_set_id, "reason": reason,
                              "revoked_on": revoked_on})
    return _exception_dict(exception)


def list_exceptions(*, office: str | None = None, rule_set_id: str | None = None, active_on: dt.date | None = None) -> list[dict]:
    qs = PriorityException.objects.select_related("case__person", "office").order_by("id")
    if office:
        qs = qs.filter(office=access_office(office))
    if rule_set_id:
        qs = qs.filter(rule_set_id=rule_set_id)
    if active_on:
        qs = qs.filter(decided_on__lte=active_on).filter(Q(revoked_on__isnull=True) | Q(revoked_on__gt=active_on))
    return [_exception_dict(e) for e in qs]

