"""Due tasks of open cases, derived from column arrays by the rules in ``data/task_rules.toml``.

No Django here: :func:`derive` takes NumPy columns (one element per case) and returns every
task as (case index, task, due day, overdue), so the officer worklist, the national overdue
summary's small sets and the tests all run the same code. Dates are float64 day numbers
(days since 1970-01-01) with NaN for "no date"; arithmetic on NaN stays NaN, and every
comparison with NaN is false, which is exactly "no task" / "not blocked".

The national summary (``caseload.docket.worklist``) counts the same rules in SQL; the tests
check both give the same counts. See docs/worklist.md.
"""

from __future__ import annotations

import datetime as dt
import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

RULES_FILE = Path(__file__).with_name("data") / "task_rules.toml"
EPOCH = dt.date(1970, 1, 1)

# The task codes the derivation knows, with the parameters each rule needs.
KNOWN_TASKS: dict[str, tuple[str, ...]] = {
    "assign_officer": (),
    "failure_to_report": (),
    "records_check_hit_review": ("review_days",),
    "citizenship_claim_decision": ("decision_days",),
    "national_security_review": ("every_days",),
    "records_check": ("grace_days",),
    "check_in": (),
    "stale_no_contact": ("grace_days",),
    "failure_to_depart_warning": ("days_after_final_order",),
    "travel_document_request": ("days_after_final_order", "live_statuses"),
    "travel_document_follow_up": ("every_days", "pending_statuses"),
    "custody_review": ("milestones_days",),
}
ASSIGNEES = ("officer", "supervisor")

# Per-case input columns of derive(): name -> kind ("day", "bool", "int", "str").
CASE_COLUMNS: dict[str, str] = {
    "assigned": "bool",
    "unit": "str",
    "final_order": "bool",          # stage is final_order
    "opened_on": "day",
    "next_report_due": "day",
    "last_contact_on": "day",
    "reporting_cadence_days": "int",
    "final_order_date": "day",
    "stay_of_removal_until": "day",
    "appeal_pending": "bool",
    "warning_served_on": "day",
    "custody_review_count": "int",
    "ns_reviewed_on": "day",
    "td_followed_up_on": "day",
    "records_check_owed_since": "day",
    "hit_review_owed_since": "day",
    "national_security": "bool",
    "claim_open": "bool",
    "claim_raised_on": "day",
    "failed_to_report_on": "day",
}
# Travel-document request columns (one element per request): case_index points into the cases.
TD_COLUMNS: dict[str, str] = {"case_index": "int", "status": "str", "requested_on": "day", "expires_on": "day"}


class RulesError(ValueError):
    """The rules file is malformed; the message names the rule and the problem."""


@dataclass(frozen=True)
class TaskRule:
    code: str
    label: str
    assignee: str
    source: str
    params: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleSet:
    id: str
    version: int
    title: str
    effective_from: dt.date
    horizon_days: int
    missed_in_a_row: int
    tasks: Mapping[str, TaskRule]
    suspended_by_guards: frozenset[str]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self.tasks)

    @property
    def label(self) -> str:
        return f"{self.id} v{self.version}"

    def param(self, code: str, name: str):
        return self.tasks[code].params[name]

    def as_dict(self) -> dict:
        return {
            "id": self.id, "version": self.version, "title": self.title,
            "effective_from": self.effective_from.isoformat(), "horizon_days": self.horizon_days,
            "failure_to_report_missed_in_a_row": self.missed_in_a_row,
            "suspended_by_guards": sorted(self.suspended_by_guards),
            "tasks": [{"task": r.code, "label": r.label, "assignee": r.assignee, "source": r.source, **r.params}
                      for r in self.tasks.values()],
        }


def parse_rules(data: Mapping) -> RuleSet:
    """Validate a parsed rules document and build the RuleSet (RulesError on any problem)."""
    try:
        raw_tasks = data["tasks"]
        horizon = int(data["worklist"]["horizon_days"])
        missed = int(data["failure_to_report"]["missed_in_a_row"])
        effective = dt.date.fromisoformat(str(data["effective_from"]))
        header = (str(data["id"]), int(data["version"]), str(data["title"]))
        suspends = frozenset(data["guards"]["suspends"])
    except (KeyError, TypeError, ValueError) as exc:
        raise RulesError(f"task rules: missing or malformed setting {exc}") from None
    if horizon < 0 or missed < 1:
        raise RulesError("task rules: horizon_days must be >= 0 and missed_in_a_row >= 1")
    tasks: dict[str, TaskRule] = {}
    for code, spec in raw_tasks.items():
        if code not in KNOWN_TASKS:
            raise RulesError(f"task rules: unknown task {code!r} (known: {', '.join(KNOWN_TASKS)})")
        missing = [k for k in ("label", "assignee", "source", *KNOWN_TASKS[code]) if k not in spec]
        if missing:
            raise RulesError(f"task rules: task {code!r} lacks {', '.join(missing)}")
        if spec["assignee"] not in ASSIGNEES:
            raise RulesError(f"task rules: task {code!r} has assignee {spec['assignee']!r}, expected one of {ASSIGNEES}")
        params = {k: spec[k] for k in KNOWN_TASKS[code]}
        for name, value in params.items():
            if name.endswith("_days") and name != "milestones_days" and (not isinstance(value, int) or value < 0):
                raise RulesError(f"task rules: {code}.{name} must be a whole number of days >= 0")
        if code == "custody_review":
            for unit, days in params["milestones_days"].items():
                if not days or any(not isinstance(d, int) or d < 0 for d in days) or list(days) != sorted(days):
                    raise RulesError(f"task rules: custody_review.milestones_days.{unit} must be ascending days >= 0")
        tasks[code] = TaskRule(code, spec["label"], spec["assignee"], spec["source"], params)
    unknown = suspends - set(tasks)
    if unknown:
        raise RulesError(f"task rules: guards.suspends names unknown tasks {sorted(unknown)}")
    return RuleSet(*header, effective_from=effective, horizon_days=horizon, missed_in_a_row=missed,
                   tasks=tasks, suspended_by_guards=suspends)


@functools.cache
def load_rules(path: Path = RULES_FILE) -> RuleSet:
    with path.open("rb") as fh:
        return parse_rules(tomllib.load(fh))


def day_number(value: dt.date) -> int:
    return (value - EPOCH).days


def day_date(number: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(number))


@dataclass
class Tasks:
    """Every derived task: parallel arrays, one element per task."""

    case_index: np.ndarray   # int64, index into the input columns
    task: np.ndarray         # int64, index into RuleSet.codes
    due: np.ndarray          # int64 day numbers
    overdue: np.ndarray      # bool: due before the as-of day

    def __len__(self) -> int:
        return len(self.case_index)


def _coalesce(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(a), b, a)


def _travel_documents(n: int, td: Mapping[str, np.ndarray] | None, rules: RuleSet, as_of: int) -> tuple[np.ndarray, np.ndarray]:
    """Per case: has a live request (bool), latest requested_on of a pending request (NaN if none)."""
    live = np.zeros(n, dtype=bool)
    pending_latest = np.full(n, np.nan)
    if td is None or not len(td["case_index"]):
        return live, pending_latest
    idx = np.asarray(td["case_index"], dtype=np.int64)
    status = np.asarray(td["status"], dtype=object)
    requested = np.asarray(td["requested_on"], dtype=float)
    expires = np.asarray(td["expires_on"], dtype=float)
    live_statuses = list(rules.param("travel_document_request", "live_statuses")) if "travel_document_request" in rules.tasks else []
    is_live = np.isin(status, live_statuses)
    # An issued document that has expired is no longer live, whatever its recorded status.
    is_live &= ~((status == "issued") & (expires < as_of))
    live[idx[is_live]] = True
    if "travel_document_follow_up" in rules.tasks:
        pending = np.isin(status, list(rules.param("travel_document_follow_up", "pending_statuses")))
        np.fmax.at(pending_latest, idx[pending], requested[pending])
    return live, pending_latest


def due_dates(cols: Mapping[str, np.ndarray], *, as_of: dt.date, rules: RuleSet,
              td: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """For each rule, the due day per case (float, NaN where the case has no such task)."""
    today = day_number(as_of)
    c = {k: np.asarray(cols[k]) for k in CASE_COLUMNS}
    n = len(c["opened_on"])
    nan = np.full(n, np.nan)
    opened = c["opened_on"].astype(float)
    final = c["final_order"].astype(bool)
    final_date = c["final_order_date"].astype(float)
    td_live, td_pending_latest = _travel_documents(n, td, rules, today)
    due: dict[str, np.ndarray] = {}
    for code in rules.codes:
        p = rules.tasks[code].params
        match code:
            case "assign_officer":
                due[code] = np.where(c["assigned"].astype(bool), nan, opened)
            case "failure_to_report":
                due[code] = c["failed_to_report_on"].astype(float)
            case "records_check_hit_review":
                due[code] = c["hit_review_owed_since"].astype(float) + p["review_days"]
            case "citizenship_claim_decision":
                raised = _coalesce(c["claim_raised_on"].astype(float), opened)
                due[code] = np.where(c["claim_open"].astype(bool), raised + p["decision_days"], nan)
            case "national_security_review":
                last = _coalesce(c["ns_reviewed_on"].astype(float), opened)
                due[code] = np.where(c["national_security"].astype(bool), last + p["every_days"], nan)
            case "records_check":
                due[code] = c["records_check_owed_since"].astype(float) + p["grace_days"]
            case "check_in":
                due[code] = _coalesce(c["next_report_due"].astype(float), opened)
            case "stale_no_contact":
                # Stale: no contact for the case's own reporting cadence plus the grace period.
                last = _coalesce(c["last_contact_on"].astype(float), opened)
                due[code] = last + c["reporting_cadence_days"].astype(float) + p["grace_days"]
            case "failure_to_depart_warning":
                served = c["warning_served_on"].astype(float)
                owed = final & ~(served >= final_date)  # a warning served before this order does not count
                due[code] = np.where(owed, final_date + p["days_after_final_order"], nan)
            case "travel_document_request":
                due[code] = np.where(final & ~td_live, final_date + p["days_after_final_order"], nan)
            case "travel_document_follow_up":
                last = np.fmax(td_pending_latest, c["td_followed_up_on"].astype(float))
                due[code] = np.where(np.isnan(td_pending_latest), nan, last + p["every_days"])
            case "custody_review":
                due[code] = _milestone_due(c["unit"], c["custody_review_count"], final, final_date, p["milestones_days"])
    blocked = (c["stay_of_removal_until"].astype(float) >= today) | c["appeal_pending"].astype(bool) | c["claim_open"].astype(bool)
    for code in rules.suspended_by_guards:
        due[code] = np.where(blocked, np.nan, due[code])
    return due


def _milestone_due(unit: np.ndarray, done: np.ndarray, final: np.ndarray, final_date: np.ndarray,
                   milestones: Mapping[str, list[int]]) -> np.ndarray:
    """final_order_date + the first milestone not yet met, for units that have milestones."""
    out = np.full(len(unit), np.nan)
    done = done.astype(np.int64)
    for unit_code, days in milestones.items():
        table = np.array(list(days), dtype=float)
        sel = final & (unit == unit_code) & (done < len(table))
        out[sel] = final_date[sel] + table[done[sel]]
    return out


def derive(cols: Mapping[str, np.ndarray], *, as_of: dt.date, rules: RuleSet,
           td: Mapping[str, np.ndarray] | None = None, horizon_days: int | None = None) -> Tasks:
    """Every task of the given cases; with ``horizon_days``, only those due by as-of + horizon."""
    today = day_number(as_of)
    parts_case, parts_task, parts_due = [], [], []
    for t, (code, due) in enumerate(due_dates(cols, as_of=as_of, rules=rules, td=td).items()):
        keep = ~np.isnan(due)
        if horizon_days is not None:
            keep &= due <= today + horizon_days
        idx = np.flatnonzero(keep)
        parts_case.append(idx)
        parts_task.append(np.full(len(idx), t, dtype=np.int64))
        parts_due.append(due[idx].astype(np.int64))
    case_index = np.concatenate(parts_case) if parts_case else np.zeros(0, dtype=np.int64)
    due_all = np.concatenate(parts_due) if parts_due else np.zeros(0, dtype=np.int64)
    task = np.concatenate(parts_task) if parts_task else np.zeros(0, dtype=np.int64)
    return Tasks(case_index=case_index, task=task, due=due_all, overdue=due_all < today)


def worklist_order(tasks: Tasks, priority_rank: np.ndarray, case_id: np.ndarray,
                   national_security: np.ndarray | None = None) -> np.ndarray:
    """Positions of ``tasks`` in worklist order: tasks of national-security cases first (when
    the flags are given), then overdue, then priority rank (1 first, unclassified last), then
    due date, then case id, then the rule order."""
    rank = np.asarray(priority_rank, dtype=float)[tasks.case_index]
    rank = np.where(np.isnan(rank), np.inf, rank)
    keys = (tasks.task, np.asarray(case_id)[tasks.case_index], tasks.due, rank, ~tasks.overdue)
    if national_security is not None:
        keys += (~np.asarray(national_security, dtype=bool)[tasks.case_index],)
    return np.lexsort(keys)
