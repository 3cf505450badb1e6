"""Reporting rules: how often a person must check in, by priority level and supervision type.

A cadence table is a versioned TOML file (docs/policy.md, "Reporting cadence"): identity,
citation, effective period, the priority rule set whose level codes it names, and ordered
``[[rules]]``; the first rule that matches a case gives its days between check-ins, and the last
rule must match every case. :func:`do_apply_cadence` brings every open case in line with the
table in force: cases whose cadence changes get the new ``reporting_cadence_days`` and a new
``next_report_due``.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

import numpy as np
from django.db import connection, transaction

from caseload.core import audit, clock
from caseload.docket.models import SupervisionType
from caseload.policy.casewrite import update_cases
from caseload.policy.documents import HEADER_KEYS, Checker, Header, check_header, parse_toml
from caseload.policy.facts import NULL_DAY, day_number, days_sql, enum_sql, fetch_int_matrix, open_cases_from

MAX_DAYS = 3650
RULE_KEYS = ("label", "priority", "supervision_type", "days")
TOP_KEYS = (*HEADER_KEYS, "priority_rule_set", "rules")
SUPERVISION_TYPES = tuple(SupervisionType.values)


@dataclass(frozen=True)
class CadenceRule:
    label: str
    priority: tuple[str, ...] | None  # None: any priority (including none recorded)
    supervision_type: tuple[str, ...] | None
    days: int

    @property
    def catch_all(self) -> bool:
        return self.priority is None and self.supervision_type is None


@dataclass(frozen=True)
class CadenceDoc:
    header: Header
    priority_rule_set: str
    rules: tuple[CadenceRule, ...]

    @property
    def id(self) -> str:
        return self.header.id

    def days_for(self, *, priority_rule_set: str, priority: str, supervision_type: str) -> int:
        """Days between check-ins for one case (the reference for the vectorised apply)."""
        for rule in self.rules:
            if rule.priority is not None and (priority_rule_set != self.priority_rule_set or priority not in rule.priority):
                continue
            if rule.supervision_type is not None and supervision_type not in rule.supervision_type:
                continue
            return rule.days
        raise AssertionError("a checked cadence table ends with a catch-all rule")


def parse_cadence(text: str, *, file: str = "<cadence table>", levels: dict[str, list[str]]) -> CadenceDoc:
    """Check a cadence file against the installed rule sets' ``levels`` ({rule set id: codes})."""
    data, checker = parse_toml(text, file)
    checker.unknown_keys(data, TOP_KEYS, "")
    header = check_header(data, checker)
    rule_set = checker.text(data, "priority_rule_set", what="priority rule set id")
    codes = levels.get(rule_set)
    if rule_set and codes is None:
        checker.add("priority_rule_set", f"no rule set {rule_set!r} is installed (load it first)", key="priority_rule_set")
    rules = _rules(data, checker, codes)
    checker.refuse_if_any(header)
    return CadenceDoc(header, rule_set, tuple(rules))


def _list(item: dict, key: str, allowed, checker: Checker, prefix: str, index: int, what: str) -> tuple[str, ...] | None:
    if key not in item:
        return None
    raw = item[key]
    if not isinstance(raw, list) or not raw or not all(isinstance(v, str) for v in raw):
        checker.add(f"{prefix}{key}", f"must be a non-empty list of {what}", table="rules", index=index, key=key)
        return ()
    if allowed is not None:
        for value in raw:
            if value not in allowed:
                checker.add(f"{prefix}{key}", f"unknown {what[:-1] if what.endswith('s') else what} {value!r} "
                                              f"(known: {', '.join(allowed)})", table="rules", index=index, key=key, text=value)
    return tuple(raw)


def _rules(data: dict, checker: Checker, codes: list[str] | None) -> list[CadenceRule]:
    items = data.get("rules")
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        checker.add("rules", "missing: add [[rules]] tables, the last one matching every case (no priority, no supervision_type)")
        return []
    rules = []
    catch_all_at = None
    for i, item in enumerate(items):
        prefix = f"rules[{i}]."
        checker.unknown_keys(item, RULE_KEYS, prefix, table="rules", index=i)
        label = checker.text(item, "label", prefix, table="rules", index=i, required=False)
        priority = _list(item, "priority", codes, checker, prefix, i, "priority levels")
        supervision = _list(item, "supervision_type", SUPERVISION_TYPES, checker, prefix, i, "supervision types")
        days = item.get("days")
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_DAYS:
            checker.add(f"{prefix}days", f"must be a whole number of days from 1 to {MAX_DAYS}, got {days!r}",
                        table="rules", index=i, key="days")
            days = 0
        if catch_all_at is not None:
            checker.add(f"{prefix}", f"unreachable: rules[{catch_all_at}] already matches every case", table="rules", index=i)
        rule = CadenceRule(label, priority, supervision, days)
        if rule.catch_all and catch_all_at is None:
            catch_all_at = i
        rules.append(rule)
    if catch_all_at is None:
        checker.add("rules", "the last rule must match every case: give it neither priority nor supervision_type",
                    table="rules", index=len(items) - 1)
    return rules


# --------------------------------------------------------------------------------------------
# Applying a table to the docket


def _db_date(value: dt.date):
    return value if connection.vendor == "postgresql" else value.isoformat()


def cadence_columns(doc: CadenceDoc, level_codes: list[str]) -> dict[str, np.ndarray]:
    """Per open case (id order): id, office, supervision index, level index under the table's rule set,
    current cadence, and the day numbers of last contact, opening and next report due."""
    vendor = connection.vendor
    whens = " ".join(f"WHEN %s THEN {i}" for i in range(len(level_codes)))
    select = [
        "c.id", "c.office_id", enum_sql("c.supervision_type", SUPERVISION_TYPES),
        f"(CASE WHEN c.priority_rule_set = %s THEN (CASE c.priority {whens} ELSE -1 END) ELSE -1 END)",
        "c.reporting_cadence_days", days_sql(vendor, "c.last_contact_on"), days_sql(vendor, "c.opened_on"),
        days_sql(vendor, "c.next_report_due"),
    ]
    matrix = fetch_int_matrix(f"SELECT {', '.join(select)} {open_cases_from(vendor)} WHERE c.status = 'open' ORDER BY c.id",
                               [doc.priority_rule_set, *level_codes], len(select))
    names = ("id", "office_id", "supervision", "level", "cadence", "last_contact", "opened", "next_due")
    return {name: matrix[:, i] for i, name in enumerate(names)}


def compute_cadence(doc: CadenceDoc, level_codes: list[str], cols: dict[str, np.ndarray]) -> np.ndarray:
    """Days between check-ins per case: the first matching rule, vectorised."""
    n = len(cols["id"])
    days = np.zeros(n, dtype=np.int64)
    undecided = np.ones(n, dtype=bool)
    for rule in doc.rules:
        mask = undecided.copy()
        if rule.priority is not None:
            mask &= np.isin(cols["level"], [level_codes.index(p) for p in rule.priority])
        if rule.supervision_type is not None:
            mask &= np.isin(cols["supervision"], [SUPERVISION_TYPES.index(s) for s in rule.supervision_type])
        days[mask] = rule.days
        undecided &= ~mask
    return days


def next_due_days(cols: dict[str, np.ndarray], days: np.ndarray, effective_from: dt.date) -> np.ndarray:
    """New next-report-due day: (last contact, else the opening day) + cadence, not before the table took effect."""
    base = np.where(cols["last_contact"] != NULL_DAY, cols["last_contact"], cols["opened"])
    return np.maximum(base + days, day_number(effective_from))


@dataclass
class CadenceResult:
    table: str
    as_of: dt.date
    cases: int
    changed: int
    counts: dict[str, int]
    seconds: float

    def as_dict(self) -> dict:
        return {"table": self.table, "as_of": self.as_of.isoformat(), "cases": self.cases, "changed": self.changed,
                "counts": self.counts, "seconds": self.seconds}


def do_apply_cadence(*, as_of: dt.date | None = None, table_id: str | None = None, actor=None,
                     actor_label: str | None = None) -> CadenceResult:
    """Give every open case the cadence of the table in force on ``as_of`` (or ``table_id``).

    Only cases whose cadence changes are written: their ``reporting_cadence_days``, their
    ``next_report_due`` (see :func:`next_due_days`) and their ``version``. Running it again
    changes nothing.
    """
    from caseload.policy import services

    started = time.perf_counter()
    as_of = as_of or clock.today()
    doc = services.access_cadence_table(table_id) if table_id else services.cadence_table_in_force(as_of)
    level_codes = services.access_rule_set(doc.priority_rule_set).level_codes()
    with transaction.atomic():
        cols = cadence_columns(doc, level_codes)
        days = compute_cadence(doc, level_codes, cols)
        changed = days != cols["cadence"]
        due = next_due_days(cols, days, doc.header.effective_from)
        ids = cols["id"][changed]
        epoch = np.datetime64("1970-01-01", "D")
        due_dates = (epoch + due[changed].astype("timedelta64[D]")).astype(object)
        rows = [(int(i), int(d), _db_date(when)) for i, d, when in zip(ids, days[changed], due_dates, strict=True)]
        update_cases([("reporting_cadence_days", "integer"), ("next_report_due", "date")], rows)
        values, counts = np.unique(days, return_counts=True)
        result = CadenceResult(doc.id, as_of, len(days), int(changed.sum()),
                               {str(int(v)): int(c) for v, c in zip(values, counts, strict=True)},
                               round(time.perf_counter() - started, 3))
        audit.record(action="policy.cadence_applied", actor=actor, actor_label=actor_label, object_type="cadence_table",
                     object_id=doc.id, details={k: v for k, v in result.as_dict().items() if k != "seconds"})
    return result
