"""The officer worklist and the national overdue summary (docs/worklist.md).

Both read the case row's columns set-based and apply the rules of ``data/task_rules.toml``:

- :func:`officer_worklist` fetches one officer's open cases (with their people and
  travel-document requests) as column arrays and runs :func:`caseload.docket.tasks.derive`.
- :func:`overdue_summary` counts overdue tasks nationally in one SQL scan of the case table
  (read from a covering index), each rule an overdue test against a cut-off date computed
  here (so no date arithmetic in SQL), plus one pass over the travel-document requests. The
  cases of people in the small sets that need the person's record (national-security flag,
  open citizenship claim, failure to report) are counted by ``derive`` instead: their SQL
  counts are subtracted and the derived ones added, so every case is counted by one path.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
from collections import defaultdict

import numpy as np
from django.db import connection

from caseload.core import clock
from caseload.core.errors import Conflict, NotFound
from caseload.countries.models import TravelDocumentRequest
from caseload.docket import anumber
from caseload.docket import tasks as rules_mod
from caseload.docket.models import Case, Person
from caseload.docket.tasks import RuleSet
from caseload.offices.models import FieldOffice, Officer
from caseload.offices.services import access_office, officers_on_leave

CASE = Case._meta.db_table
PERSON = Person._meta.db_table
TD = TravelDocumentRequest._meta.db_table

# People whose cases the SQL scan leaves to derive(): each set has a partial index.
SPECIAL_PEOPLE = (
    f"SELECT id FROM {PERSON} WHERE national_security_flag "
    f"UNION SELECT id FROM {PERSON} WHERE citizenship_claim = 'open' "
    f"UNION SELECT id FROM {PERSON} WHERE failed_to_report_on IS NOT NULL"
)


def day_sql(expr: str) -> str:
    """SQL for a date column as a whole number of days since 1970-01-01 (NULL stays NULL)."""
    if connection.vendor == "postgresql":
        return f"({expr} - DATE '1970-01-01')"
    return f"CAST(julianday({expr}) - 2440587.5 AS INTEGER)"


def check_derived_current() -> None:
    """Bring bulk-loaded cases' derived check-in columns up to date before tasks are derived
    from them (a set-based refresh, audited as ``system:derive``), so no page or command fails
    for want of ``caseload tasks refresh``."""
    from caseload.docket.checkins import ensure_derived_current

    ensure_derived_current(actor_label="system:derive")


# --- fetching cases as columns -------------------------------------------------------------

_CASE_SELECT = (
    ("case_id", "c.id", "int"),
    ("officer_id", "c.officer_id", "int"),
    ("office_id", "c.office_id", "int"),
    ("unit", "c.unit", "str"),
    ("stage", "c.stage", "str"),
    ("opened_on", "c.opened_on", "day"),
    ("next_report_due", "c.next_report_due", "day"),
    ("last_contact_on", "c.last_contact_on", "day"),
    ("reporting_cadence_days", "c.reporting_cadence_days", "int"),
    ("final_order_date", "c.final_order_date", "day"),
    ("stay_of_removal_until", "c.stay_of_removal_until", "day"),
    ("appeal_pending", "c.appeal_pending", "bool"),
    ("warning_served_on", "c.warning_served_on", "day"),
    ("custody_review_count", "c.custody_review_count", "int"),
    ("ns_reviewed_on", "c.ns_reviewed_on", "day"),
    ("td_followed_up_on", "c.td_followed_up_on", "day"),
    ("records_check_owed_since", "c.records_check_owed_since", "day"),
    ("hit_review_owed_since", "c.hit_review_owed_since", "day"),
    ("national_security", "p.national_security_flag", "bool"),
    ("citizenship_claim", "p.citizenship_claim", "str"),
    ("claim_raised_on", "p.citizenship_claim_raised_on", "day"),
    ("failed_to_report_on", "p.failed_to_report_on", "day"),
    ("a_number", "p.a_number", "str"),
    ("priority", "c.priority", "str"),
    ("priority_rank", "c.priority_rank", "float"),
)


def _column(values: tuple, kind: str) -> np.ndarray:
    if kind == "day" or kind == "float":
        return np.array(values, dtype=float)  # None becomes NaN
    if kind == "int":
        return np.array([0 if v is None else v for v in values], dtype=np.int64)
    if kind == "bool":
        return np.array(values, dtype=bool)
    return np.array(values, dtype=object)


def fetch_cases(where: str, params: list) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Open cases matching ``where`` (SQL over aliases c = case, p = person), in case-id order,
    as derive() columns plus identifying columns; and their travel-document requests."""
    select = ", ".join(day_sql(expr) if kind == "day" else expr for _, expr, kind in _CASE_SELECT)
    base = f"FROM {CASE} c JOIN {PERSON} p ON p.id = c.person_id WHERE c.status = 'open' AND ({where})"
    with connection.cursor() as cur:
        cur.execute(f"SELECT {select} {base} ORDER BY c.id", params)
        rows = cur.fetchall()
        cur.execute(f"SELECT td.case_id, td.status, {day_sql('td.requested_on')}, {day_sql('td.expires_on')} "
                    f"FROM {TD} td JOIN {CASE} c ON c.id = td.case_id JOIN {PERSON} p ON p.id = c.person_id "
                    f"WHERE c.status = 'open' AND ({where})", params)
        td_rows = cur.fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(_CASE_SELECT)
    cols = {name: _column(values, kind) for (name, _, kind), values in zip(_CASE_SELECT, columns, strict=True)}
    cols["assigned"] = cols["officer_id"] > 0
    cols["final_order"] = cols["stage"] == "final_order"
    cols["claim_open"] = cols["citizenship_claim"] == "open"
    cols["a_number_display"] = np.array([anumber.display(a) for a in cols["a_number"]], dtype=object)
    td_columns = list(zip(*td_rows, strict=True)) if td_rows else [(), (), (), ()]
    td = {
        "case_index": np.searchsorted(cols["case_id"], np.array(td_columns[0], dtype=np.int64)),
        "status": np.array(td_columns[1], dtype=object),
        "requested_on": np.array(td_columns[2], dtype=float),
        "expires_on": np.array(td_columns[3], dtype=float),
    }
    return cols, td


# --- the officer worklist ------------------------------------------------------------------

@contextlib.contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector while tens of thousands of short-lived, cycle-free
    rows and task dicts are built: otherwise their allocations trigger full collections of the
    whole process, which cost more than the worklist itself (p95, not median)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def access_officer(officer_id: int) -> Officer:
    try:
        return Officer.objects.select_related("office").get(pk=officer_id)
    except Officer.DoesNotExist:
        raise NotFound("unknown_officer", f"no officer with id {officer_id}") from None


def officer_worklist(*, officer: int, as_of: dt.date | None = None, rules: RuleSet | None = None) -> dict:
    """The tasks of one officer's open cases due by as-of + the horizon, in worklist order:
    tasks of national-security cases first, then overdue, then priority rank (1 most urgent,
    unclassified last), then due date."""
    rules = rules or rules_mod.load_rules()
    as_of = as_of or clock.today()
    access_officer(officer)
    check_derived_current()
    with _gc_paused():
        return _worklist(officer, as_of, rules)


def _worklist(officer: int, as_of: dt.date, rules: RuleSet) -> dict:
    cols, td = fetch_cases("c.officer_id = %s", [officer])
    found = rules_mod.derive(cols, as_of=as_of, rules=rules, td=td, horizon_days=rules.horizon_days)
    order = rules_mod.worklist_order(found, cols["priority_rank"], cols["case_id"], cols["national_security"])
    idx = found.case_index[order]
    days, day_index = np.unique(found.due[order], return_inverse=True)
    due_text = np.datetime_as_string(days.astype("datetime64[D]")).astype(object)
    priority = np.where(cols["priority"] == "", None, cols["priority"])
    task_list = [
        {"a_number": a, "case_id": c, "task": t, "due": d, "overdue": o, "priority": p, "national_security": n}
        for a, c, t, d, o, p, n in zip(cols["a_number_display"][idx].tolist(), cols["case_id"][idx].tolist(),
                                       np.array(rules.codes, dtype=object)[found.task[order]].tolist(),
                                       due_text[day_index].tolist(), found.overdue[order].tolist(), priority[idx].tolist(),
                                       cols["national_security"][idx].tolist())
    ]
    totals = np.bincount(found.task, minlength=len(rules.codes))
    late = np.bincount(found.task[found.overdue], minlength=len(rules.codes))
    by_task = {code: {"tasks": int(totals[t]), "overdue": int(late[t])} for t, code in enumerate(rules.codes)}
    counts = {"cases": len(cols["case_id"]), "tasks": len(task_list), "overdue": int(found.overdue.sum()), "by_task": by_task}
    return {"officer": officer, "as_of": as_of.isoformat(), "tasks": task_list, "counts": counts}


def task_shares_by_office(*, as_of: dt.date | None = None, rules: RuleSet | None = None) -> list[dict]:
    """Per office: open cases, every task of its open cases (any due date) and how many are
    overdue on ``as_of`` — the backlog measure of docs/worklist.md ("Backlog by office").
    Runs derive() office by office over the same columns as the worklist."""
    rules = rules or rules_mod.load_rules()
    as_of = as_of or clock.today()
    check_derived_current()
    out = []
    with _gc_paused():
        for office_id, code in FieldOffice.objects.order_by("code").values_list("id", "code"):
            cols, td = fetch_cases("c.office_id = %s", [office_id])
            found = rules_mod.derive(cols, as_of=as_of, rules=rules, td=td)
            tasks, overdue = len(found), int(found.overdue.sum())
            if not len(cols["case_id"]):
                continue
            out.append({"office": code, "open_cases": len(cols["case_id"]), "tasks": tasks, "overdue": overdue,
                        "overdue_share": round(overdue / tasks, 4) if tasks else None})
    return out


# --- the national overdue summary ----------------------------------------------------------

def _not_blocked(as_of: dt.date) -> tuple[str, list]:
    return "(c.stay_of_removal_until IS NULL OR c.stay_of_removal_until < %s) AND NOT c.appeal_pending", [as_of]


def overdue_conditions(rules: RuleSet, as_of: dt.date) -> dict[str, tuple[str, list]]:
    """Per rule, an SQL test over the case row alone (alias c): "this case has that task
    overdue on as_of", exact for a case whose person has no national-security flag, no open
    citizenship claim and no failure to report, before the travel-document corrections of
    :func:`_td_corrections` (the request rule here ignores requests; follow-ups come from there)."""
    def cut(days: int) -> dt.date:
        return as_of - dt.timedelta(days=days)

    out: dict[str, tuple[str, list]] = {}
    for code in rules.codes:
        p = rules.tasks[code].params
        match code:
            case "assign_officer":
                out[code] = ("c.officer_id IS NULL AND c.opened_on < %s", [as_of])
            case "failure_to_report" | "citizenship_claim_decision" | "national_security_review" | "travel_document_follow_up":
                out[code] = ("1 = 0", [])
            case "records_check_hit_review":
                out[code] = ("c.hit_review_owed_since < %s", [cut(p["review_days"])])
            case "records_check":
                out[code] = ("c.records_check_owed_since < %s", [cut(p["grace_days"])])
            case "check_in":
                out[code] = ("COALESCE(c.next_report_due, c.opened_on) < %s", [as_of])
            case "stale_no_contact":
                # last contact + cadence + grace < as_of, as whole days (the cadence varies by case).
                out[code] = (f"{day_sql('COALESCE(c.last_contact_on, c.opened_on)')} + c.reporting_cadence_days < %s",
                             [rules_mod.day_number(as_of) - p["grace_days"]])
            case "failure_to_depart_warning":
                out[code] = ("c.stage = 'final_order' AND c.final_order_date < %s AND "
                             "(c.warning_served_on IS NULL OR c.warning_served_on < c.final_order_date)",
                             [cut(p["days_after_final_order"])])
            case "travel_document_request":
                out[code] = ("c.stage = 'final_order' AND c.final_order_date < %s", [cut(p["days_after_final_order"])])
            case "custody_review":
                terms, params = [], []
                for unit, days in p["milestones_days"].items():
                    for done, offset in enumerate(days):
                        terms.append("(c.unit = %s AND c.custody_review_count = %s AND c.final_order_date < %s)")
                        params += [unit, done, cut(offset)]
                out[code] = (f"c.stage = 'final_order' AND ({' OR '.join(terms) or '1 = 0'})", params)
        if code in rules.suspended_by_guards:
            out[code] = _and(out[code], _not_blocked(as_of))
    return out


def _and(*terms: tuple[str, list]) -> tuple[str, list]:
    return " AND ".join(f"({sql})" for sql, _ in terms), [p for _, params in terms for p in params]


def _group(tests: list[tuple[str, list]], source: str, where: tuple[str, list],
           source_params: list | None = None) -> dict[tuple[int, int], np.ndarray]:
    """SUM(CASE WHEN test THEN 1 ELSE 0 END) per test over ``source`` (which names the case
    alias c), grouped by (officer or 0, office), for open cases matching ``where``."""
    sums = ", ".join(f"SUM(CASE WHEN {sql} THEN 1 ELSE 0 END)" for sql, _ in tests)
    params = [p for _, ps in tests for p in ps] + (source_params or []) + where[1]
    with connection.cursor() as cur:
        cur.execute(f"SELECT c.officer_id, c.office_id, {sums} FROM {source} WHERE c.status = 'open' AND ({where[0]}) "
                    f"GROUP BY c.officer_id, c.office_id", params)
        rows = cur.fetchall()
    return {(officer or 0, office): np.array(counts, dtype=np.int64) for officer, office, *counts in rows}


def _td_corrections(rules: RuleSet, as_of: dt.date, request_test: tuple[str, list],
                    narrow_to: tuple[str, list] | None) -> tuple[str, list[tuple[str, list]], list]:
    """From the travel-document side (one row per case with requests): the SQL source with its
    parameters, and two tests: the cases the request test counted that hold a live request (to
    subtract), and the overdue follow-ups (to add). ``narrow_to`` (a test on alias c) limits
    the requests read to those cases' (worth it for a small set)."""
    def statuses(code: str, name: str) -> list[str]:
        return list(rules.param(code, name)) if code in rules.tasks else []

    def marks(values: list) -> str:
        return ", ".join(["%s"] * len(values)) or "NULL"

    live_statuses = statuses("travel_document_request", "live_statuses")
    pending = statuses("travel_document_follow_up", "pending_statuses")
    narrow = f"WHERE case_id IN (SELECT c.id FROM {CASE} c WHERE {narrow_to[0]})" if narrow_to else ""
    source = (f"(SELECT case_id, MAX(CASE WHEN status IN ({marks(live_statuses)}) AND NOT (status = 'issued' AND "
              f"expires_on IS NOT NULL AND expires_on < %s) THEN 1 ELSE 0 END) AS live, "
              f"MAX(CASE WHEN status IN ({marks(pending)}) THEN requested_on END) AS pending_latest "
              f"FROM {TD} {narrow} GROUP BY case_id) t JOIN {CASE} c ON c.id = t.case_id")
    source_params = [*live_statuses, as_of, *pending, *(narrow_to[1] if narrow_to else [])]
    tests = [_and(("t.live = 1", []), request_test)]
    if "travel_document_follow_up" in rules.tasks:
        limit = as_of - dt.timedelta(days=rules.param("travel_document_follow_up", "every_days"))
        follow_up = ("t.pending_latest < %s AND (c.td_followed_up_on IS NULL OR c.td_followed_up_on < %s)", [limit, limit])
        if "travel_document_follow_up" in rules.suspended_by_guards:
            follow_up = _and(follow_up, _not_blocked(as_of))
        tests.append(follow_up)
    else:
        tests.append(("1 = 0", []))
    return source, tests, source_params


def sql_overdue_counts(rules: RuleSet, as_of: dt.date, where: tuple[str, list],
                       small: bool = False) -> dict[tuple[int, int], np.ndarray]:
    """Overdue counts per (officer or 0, office) and rule by the SQL path, for open cases
    matching ``where`` (exact for people outside SPECIAL_PEOPLE), followed by the number of
    open cases; ``small`` when ``where`` selects few cases."""
    conditions = overdue_conditions(rules, as_of)
    counts = _group([conditions[code] for code in rules.codes] + [("1 = 1", [])], f"{CASE} c", where)
    if "travel_document_request" not in rules.tasks and "travel_document_follow_up" not in rules.tasks:
        return counts
    request_test = conditions.get("travel_document_request", ("1 = 0", []))
    source, tests, source_params = _td_corrections(rules, as_of, request_test, where if small else None)
    rows = _group(tests, source, where, source_params=source_params)
    request = rules.codes.index("travel_document_request") if "travel_document_request" in rules.tasks else None
    follow = rules.codes.index("travel_document_follow_up") if "travel_document_follow_up" in rules.tasks else None
    for (officer, office), (live_counted, follow_ups) in rows.items():
        row = counts.setdefault((officer, office), np.zeros(len(rules.codes) + 1, dtype=np.int64))
        if request is not None:
            row[request] -= live_counted
        if follow is not None:
            row[follow] += follow_ups
    return counts


def overdue_summary(*, office: str | None = None, as_of: dt.date | None = None, rules: RuleSet | None = None) -> dict:
    """Overdue tasks by type per office and per officer, with the unassigned cases and the
    stale national-security cases listed in full (never only counted).

    Counts = SQL path over every open case − SQL path over the cases of SPECIAL_PEOPLE +
    derive() over those cases (the SQL path is exact for everyone else)."""
    rules = rules or rules_mod.load_rules()
    as_of = as_of or clock.today()
    office_obj = access_office(office) if office else None
    check_derived_current()
    scope = ("c.office_id = %s", [office_obj.pk]) if office_obj else ("1 = 1", [])
    special_scope = _and(scope, (f"c.person_id IN ({SPECIAL_PEOPLE})", []))
    n_rules = len(rules.codes)  # rows hold the overdue count per rule, then the open cases
    counts: dict[tuple[int, int], np.ndarray] = defaultdict(lambda: np.zeros(n_rules + 1, dtype=np.int64))
    for key, row in sql_overdue_counts(rules, as_of, scope).items():
        counts[key] += row
    for key, row in sql_overdue_counts(rules, as_of, special_scope, small=True).items():
        counts[key][:n_rules] -= row[:n_rules]
    cols, td = fetch_cases(*special_scope)
    special = rules_mod.derive(cols, as_of=as_of, rules=rules, td=td)
    late = special.overdue
    for i, t in zip(special.case_index[late].tolist(), special.task[late].tolist(), strict=True):
        counts[(int(cols["officer_id"][i]), int(cols["office_id"][i]))][t] += 1

    codes = dict(FieldOffice.objects.values_list("id", "code"))
    names = {pk: f"{first} {last}" for pk, first, last in Officer.objects.values_list("id", "first_name", "last_name")}

    def by_task(row: np.ndarray) -> dict[str, int]:
        return {code: int(row[t]) for t, code in enumerate(rules.codes)}

    def overdue(row: np.ndarray) -> int:
        return int(row[:n_rules].sum())

    office_rows: dict[int, np.ndarray] = defaultdict(lambda: np.zeros(n_rules + 1, dtype=np.int64))
    officer_rows = []
    for (officer_id, off_id), row in counts.items():
        office_rows[off_id] += row
        if officer_id:
            officer_rows.append({"officer": officer_id, "name": names.get(officer_id, ""), "office": codes[off_id],
                                 "open_cases": int(row[n_rules]), "overdue": overdue(row), "by_task": by_task(row)})
    officer_rows.sort(key=lambda r: (r["office"], -r["overdue"], r["officer"]))
    total = sum(office_rows.values(), np.zeros(n_rules + 1, dtype=np.int64))
    return {
        "as_of": as_of.isoformat(),
        "office": office_obj.code if office_obj else None,
        "rule_set": rules.label,
        "task_types": list(rules.codes),
        "totals": {"open_cases": int(total[n_rules]), "overdue": overdue(total), "by_task": by_task(total)},
        "offices": [{"office": codes[off_id], "open_cases": int(row[n_rules]), "overdue": overdue(row), "by_task": by_task(row)}
                    for off_id, row in sorted(office_rows.items(), key=lambda kv: codes[kv[0]])],
        "officers": officer_rows,
        "unassigned_cases": _unassigned_cases(office_obj.pk if office_obj else None),
        "stale_national_security_cases": _stale_national_security(cols, special, rules, codes),
        "officers_on_leave": officers_on_leave(office_id=office_obj.pk if office_obj else None),
    }


def _unassigned_cases(office_id: int | None) -> list[dict]:
    qs = Case.objects.filter(status="open", officer__isnull=True)
    if office_id is not None:
        qs = qs.filter(office_id=office_id)
    rows = qs.order_by("office__code", "id").values_list("id", "person__a_number", "office__code", "opened_on", "stage")
    return [{"case_id": cid, "a_number": anumber.display(a), "office": code, "opened_on": opened.isoformat(), "stage": stage}
            for cid, a, code, opened, stage in rows]


def _stale_national_security(cols: dict, special: rules_mod.Tasks, rules: RuleSet, codes: dict[int, str]) -> list[dict]:
    """National-security cases whose 30-day review is overdue or that had no contact for too long."""
    wanted = [rules.codes.index(c) for c in ("national_security_review", "stale_no_contact") if c in rules.codes]
    hit = special.overdue & np.isin(special.task, wanted) & cols["national_security"][special.case_index]
    reasons: dict[int, list[str]] = defaultdict(list)
    for i, t in zip(special.case_index[hit].tolist(), special.task[hit].tolist(), strict=True):
        reasons[i].append(rules.codes[t])

    def date_or_none(value: float) -> str | None:
        return None if np.isnan(value) else rules_mod.day_date(int(value)).isoformat()

    out = []
    for i in sorted(reasons, key=lambda i: (codes[int(cols["office_id"][i])], int(cols["case_id"][i]))):
        out.append({
            "case_id": int(cols["case_id"][i]),
            "a_number": cols["a_number_display"][i],
            "office": codes[int(cols["office_id"][i])],
            "officer": int(cols["officer_id"][i]) or None,
            "last_contact_on": date_or_none(cols["last_contact_on"][i]),
            "ns_reviewed_on": date_or_none(cols["ns_reviewed_on"][i]),
            "reasons": reasons[i],
        })
    return out
