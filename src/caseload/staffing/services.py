"""Workload study, staffing model, hiring allocation, balancing and assignment (docs/domain.md §6).

Reads columns with SQL and computes with NumPy; the pure algorithms are in ``weights.py``,
``hiring.py`` and ``balance.py``.
"""

from __future__ import annotations

import datetime as dt
import functools
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.db import connection, transaction
from django.db.models import Count

from caseload.core import audit, clock
from caseload.core.errors import CaseloadError, Conflict, NotFound, UsageError
from caseload.docket import anumber
from caseload.docket.models import Case, CaseStatus
from caseload.docket.services import docket_officers
from caseload.offices.models import FieldOffice, Officer, OfficerStatus, Unit
from caseload.offices.services import access_office
from caseload.staffing import balance as balancing
from caseload.staffing import hiring
from caseload.staffing import weights as estimator
from caseload.staffing.models import AssignmentMethod, AssignmentRecord, CaseWeight, CaseWeightSet, WeightKind
from caseload.workload.activities import activities

PARAMETERS_FILE = Path(__file__).with_name("data") / "staffing.toml"
DAYS_PER_MONTH = estimator.DAYS_PER_MONTH

# Case facts that may define a case type, as SQL over docket_case c JOIN docket_person p.
DIMENSIONS = {
    "supervision_type": "c.supervision_type",
    "stage": "c.stage",
    "priority": "CASE WHEN c.priority = '' THEN 'unclassified' ELSE c.priority END",
    "national_security": "CASE WHEN p.national_security_flag THEN 'national_security' ELSE 'other' END",
}
DEFAULT_GROUP_BY = ("supervision_type", "stage", "priority")


@functools.cache
def _file_parameters() -> dict:
    with PARAMETERS_FILE.open("rb") as fh:
        return tomllib.load(fh)


def parameters(overrides: dict[str, float] | None = None) -> dict:
    """The staffing parameters, with ``section.name=value`` overrides applied."""
    params = {section: dict(values) for section, values in _file_parameters().items()}
    for key, value in (overrides or {}).items():
        section, _, name = key.partition(".")
        if section not in params or name not in params[section]:
            raise UsageError("unknown_parameter", f"unknown staffing parameter {key!r}; see docs/staffing.md")
        params[section][name] = value
    return params


def parse_group_by(text: str | None) -> tuple[str, ...]:
    if not text:
        return DEFAULT_GROUP_BY
    dims = tuple(d.strip() for d in text.split(",") if d.strip())
    unknown = [d for d in dims if d not in DIMENSIONS]
    if unknown or not dims:
        raise UsageError("invalid_group_by", f"unknown case facts {unknown}; choose from {', '.join(DIMENSIONS)}")
    return dims


def _rows(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def _type_codes(columns: list[np.ndarray]) -> tuple[np.ndarray, list[str]]:
    """Combine per-fact values into one type code per row and the type names ('a/b/c')."""
    if not len(columns[0]):
        return np.zeros(0, dtype=np.int64), []
    codes, uniques = [], []
    for col in columns:
        u, inv = np.unique(col.astype(str), return_inverse=True)
        uniques.append(u)
        codes.append(inv)
    combined = np.ravel_multi_index(codes, [len(u) for u in uniques])
    present, index = np.unique(combined, return_inverse=True)
    names = ["/".join(u[i] for u, i in zip(uniques, np.unravel_index(code, [len(u) for u in uniques]), strict=True))
             for code in present]
    return index, names


def _all_cases_sql(group_by: tuple[str, ...]) -> str:
    """FROM clause for a pass over the whole docket: a plain table scan on SQLite (its planner
    would otherwise walk an index on status and fetch every row by id, three times slower),
    joined to people only when a person's fact defines the case type."""
    scan = "docket_case c NOT INDEXED" if connection.vendor == "sqlite" else "docket_case c"
    if "national_security" in group_by:
        scan += " JOIN docket_person p ON p.id = c.person_id"
    return scan


def _case_type_sql(group_by: tuple[str, ...]) -> str:
    return ", ".join(DIMENSIONS[d] for d in group_by)


# --- Workload study -------------------------------------------------------------------------

def measure_weights(*, start: dt.date | None = None, end: dt.date | None = None,
                    group_by: tuple[str, ...] = DEFAULT_GROUP_BY, seed: int = 0, reps: int = 1000) -> dict:
    """Minutes per case-month per case type over [start, end) from the time log, with 90 % intervals.

    The default period is the 12 months ending at the latest time-log entry (not at today: a
    docket whose time log ends earlier would otherwise measure nothing). A period that holds no
    time-log entry is refused rather than measured as zero minutes for every type."""
    start, end = default_period(start, end)
    if start >= end:
        raise UsageError("invalid_period", f"--from ({start}) must be before --to ({end})")
    logged = _rows(
        "SELECT case_id, SUM(minutes) FROM workload_timelogentry "
        "WHERE started_at >= %s AND started_at < %s GROUP BY case_id",
        [_day_start(start), _day_start(end)],
    )
    if not logged:
        raise UsageError("no_time_log_in_period", f"the time log holds no entry from {start} to {end} (exclusive); "
                                                  "choose a period with --from and --to")
    # Days open within the period and the case type are computed by the database: no per-row
    # date or string handling in Python for 2.2 million cases.
    rows = _rows(
        f"SELECT c.id, {_overlap_days_sql()}, {_type_key_sql(group_by)} FROM {_all_cases_sql(group_by)} "
        "WHERE c.opened_on < %s AND (c.closed_on IS NULL OR c.closed_on > %s) ORDER BY c.id",
        [end, end, start, end, start],
    )
    if not rows:
        return {"period": {"from": start.isoformat(), "to": end.isoformat()}, "group_by": list(group_by),
                "weights": [], "collateral_minutes_per_officer_month": None}
    ids_col, days_col, key_col = zip(*rows, strict=True)
    case_ids = np.array(ids_col, dtype=np.int64)
    months = np.maximum(np.array(days_col, dtype=float), 0) / DAYS_PER_MONTH
    type_names, type_index = np.unique(np.array(key_col, dtype=object), return_inverse=True)
    type_names = [str(n) for n in type_names]

    minutes = np.zeros(len(case_ids))
    collateral_total = sum(float(total) for case_id, total in logged if case_id is None)
    logged = [(case_id, total) for case_id, total in logged if case_id is not None]
    if logged:
        ids, sums = (np.array(x) for x in zip(*logged, strict=True))
        pos = np.searchsorted(case_ids, ids)
        known = (pos < len(case_ids)) & (case_ids[np.minimum(pos, len(case_ids) - 1)] == ids)
        minutes[pos[known]] = sums[known]
    estimates = estimator.estimate(type_index, type_names, months, minutes, reps=reps, seed=seed)
    return {
        "period": {"from": start.isoformat(), "to": end.isoformat()},
        "group_by": list(group_by),
        "weights": [e.as_dict() for e in estimates],
        "collateral_minutes_per_officer_month": _per_officer_month(collateral_total, start, end),
    }


def latest_time_log_day() -> dt.date | None:
    """The day of the latest time-log entry (UTC), or None when the log is empty."""
    # one MAX per office walks the (office, started_at) index instead of scanning the log
    per_office = [row[0] for office_id in FieldOffice.objects.values_list("id", flat=True)
                  for row in _rows("SELECT MAX(started_at) FROM workload_timelogentry WHERE office_id = %s", [office_id])]
    found = [value for value in per_office if value is not None]
    if not found:
        return None
    latest = max(found)
    if isinstance(latest, str):  # SQLite returns the stored text
        latest = dt.datetime.fromisoformat(latest)
    return (latest.astimezone(dt.UTC) if latest.tzinfo else latest).date()


def default_period(start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    """[start, end) with the defaults filled in: end = the day after the latest time-log entry
    (today when the log is empty), start = 12 months before end."""
    if end is None:
        latest = latest_time_log_day()
        end = latest + dt.timedelta(days=1) if latest else clock.today()
    return (start if start is not None else _add_months(end, -12)), end


def _add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later (earlier when negative), the last of the month when it has no such day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _per_officer_month(collateral_minutes: float, start: dt.date, end: dt.date) -> float | None:
    """Collateral minutes ÷ officer-months of the docket officers at work (status active)."""
    officers = docket_officers().filter(status=OfficerStatus.ACTIVE).count()
    months = (end - start).days / DAYS_PER_MONTH
    return round(collateral_minutes / (officers * months), 2) if officers and months > 0 else None


def _overlap_days_sql() -> str:
    """SQL for the days a case was open within [start, end); parameters: end, end, start."""
    if connection.vendor == "postgresql":
        return ("LEAST(COALESCE(c.closed_on, %s::date), %s::date) - GREATEST(c.opened_on, %s::date)")
    return "julianday(MIN(COALESCE(c.closed_on, %s), %s)) - julianday(MAX(c.opened_on, %s))"


def _type_key_sql(group_by: tuple[str, ...]) -> str:
    """SQL for the case type name: the facts joined by '/'."""
    return " || '/' || ".join(f"({DIMENSIONS[d]})" for d in group_by)


def do_save_weight_set(*, kind: str, name: str, group_by: tuple[str, ...], weights: list[dict], provenance: str,
                       actor_label: str, period: dict | None = None, collateral: float | None = None) -> CaseWeightSet:
    with transaction.atomic():
        ws = CaseWeightSet.objects.create(
            kind=kind, name=name, group_by=",".join(group_by), provenance=provenance, created_by=actor_label,
            created_at=clock.now(), collateral_minutes_per_officer_month=collateral,
            period_from=dt.date.fromisoformat(period["from"]) if period else None,
            period_to=dt.date.fromisoformat(period["to"]) if period else None,
        )
        CaseWeight.objects.bulk_create(
            CaseWeight(weight_set=ws, case_type=w["case_type"], minutes_per_case_month=w["minutes_per_case_month"],
                       low=w.get("low"), high=w.get("high"), case_months=w.get("case_months"), reason=w.get("reason", ""))
            for w in weights
        )
        audit.record(action="workload.weights_saved", actor_label=actor_label, object_type="case_weight_set",
                     object_id=ws.pk, details={"kind": kind, "name": name, "types": len(weights)})
    return ws


def do_load_adjusted_weights(path: Path, *, actor_label: str) -> CaseWeightSet:
    """Store an adjustment panel's weights from a TOML file (see docs/staffing.md)."""
    try:
        with path.open("rb") as fh:
            doc = tomllib.load(fh)
    except OSError as exc:
        raise UsageError("unreadable_file", f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError("invalid_panel_file", f"{path}: {exc}") from None
    problems = []
    panel = doc.get("panel", {})
    for key in ("name", "decided_on", "members", "source"):
        if not panel.get(key):
            problems.append(f"[panel] {key} is missing")
    group_by = panel.get("group_by", ",".join(DEFAULT_GROUP_BY))
    try:
        dims = parse_group_by(group_by)
    except UsageError as exc:
        problems.append(f"[panel] group_by: {exc.message}")
        dims = DEFAULT_GROUP_BY
    rows = doc.get("weights", [])
    if not rows:
        problems.append("no [[weights]] entries")
    seen = set()
    for n, w in enumerate(rows, start=1):
        ct, minutes = w.get("case_type"), w.get("minutes_per_case_month")
        if not ct or len(ct.split("/")) != len(dims):
            problems.append(f"weights #{n}: case_type {ct!r} does not have the {len(dims)} parts of group_by {group_by!r}")
        if not isinstance(minutes, int | float) or minutes < 0:
            problems.append(f"weights #{n}: minutes_per_case_month must be a number ≥ 0")
        if not w.get("reason"):
            problems.append(f"weights #{n}: reason is missing")
        if ct in seen:
            problems.append(f"weights #{n}: case_type {ct!r} appears twice")
        seen.add(ct)
    if problems:
        raise UsageError("invalid_panel_file", f"{path}: " + "; ".join(problems), problems=problems)
    provenance = (f"adjustment panel '{panel['name']}' decided {panel['decided_on']}; members: {', '.join(panel['members'])}; "
                  f"source: {panel['source']}")
    return do_save_weight_set(kind=WeightKind.ADJUSTED, name=panel["name"], group_by=dims, weights=rows,
                              provenance=provenance, actor_label=actor_label)


def latest_weight_set(kind: str) -> CaseWeightSet | None:
    return CaseWeightSet.objects.filter(kind=kind).order_by("-created_at", "-id").first()


def weight_gap() -> dict:
    """Measured ("what is") against adjusted ("what should be") weights, by case type."""
    measured, adjusted = latest_weight_set(WeightKind.MEASURED), latest_weight_set(WeightKind.ADJUSTED)
    if measured is None or adjusted is None:
        raise CaseloadError("weights_missing", "the gap needs a measured set (caseload workload weights --save) "
                                               "and an adjusted set (caseload workload adjust FILE)")
    m_dims, a_dims = measured.group_by.split(","), adjusted.group_by.split(",")
    if not set(a_dims) <= set(m_dims):
        raise CaseloadError("grouping_mismatch", f"measured weights are grouped by {measured.group_by}, adjusted by "
                                                 f"{adjusted.group_by}; measure with --group-by {adjusted.group_by}")
    m = _regroup(list(measured.weights.values_list("case_type", "minutes_per_case_month", "case_months")), m_dims, a_dims)
    a = {w.case_type: w for w in adjusted.weights.all()}
    rows = []
    for ct in sorted(set(m) | set(a)):
        mv = m.get(ct)
        av = a[ct].minutes_per_case_month if ct in a else None
        rows.append({"case_type": ct, "measured": mv, "adjusted": av,
                     "gap": round(av - mv, 4) if mv is not None and av is not None else None,
                     "gap_pct": round(100 * (av - mv) / mv, 1) if mv and av is not None else None,
                     "reason": a[ct].reason if ct in a else ""})
    return {"measured_set": measured.pk, "adjusted_set": adjusted.pk, "group_by": a_dims, "case_types": rows}


def _regroup(rows: list[tuple[str, float, float | None]], dims: list[str], target: list[str]) -> dict[str, float]:
    """Case-month-weighted weights of a finer grouping, aggregated to ``target`` (a subset of ``dims``)."""
    positions = [dims.index(d) for d in target]
    minutes: dict[str, float] = {}
    months: dict[str, float] = {}
    for case_type, weight, case_months in rows:
        parts = case_type.split("/")
        key = "/".join(parts[p] for p in positions)
        cm = case_months if case_months else 1.0  # a set stored without case-months: plain mean
        minutes[key] = minutes.get(key, 0.0) + weight * cm
        months[key] = months.get(key, 0.0) + cm
    return {k: round(minutes[k] / months[k], 4) for k in minutes if months[k] > 0}


def weights_for(kind: str, *, actor_label: str = "cli:staffing") -> CaseWeightSet:
    """The latest set of ``kind``; a measured set is computed and saved when none exists."""
    found = latest_weight_set(kind)
    if found is not None:
        return found
    if kind == WeightKind.ADJUSTED:
        raise CaseloadError("weights_missing", "no adjusted weights: load a panel file with `caseload workload adjust FILE`")
    doc = measure_weights()
    if not doc["weights"]:
        raise CaseloadError("weights_missing", "no time-log data to measure weights from")
    return do_save_weight_set(kind=WeightKind.MEASURED, name=f"time study {doc['period']['from']} to {doc['period']['to']}",
                              group_by=tuple(doc["group_by"]), weights=doc["weights"], period=doc["period"],
                              collateral=doc["collateral_minutes_per_officer_month"], actor_label=actor_label,
                              provenance=f"measured from the time log {doc['period']['from']} to {doc['period']['to']}")


@dataclass(frozen=True)
class WeightTable:
    group_by: tuple[str, ...]
    by_type: dict[str, float]
    fallback: float       # for a type the set lacks: the set's case-month-weighted mean
    weight_set: CaseWeightSet

    def lookup(self, names: list[str]) -> np.ndarray:
        return np.array([self.by_type.get(n, self.fallback) for n in names])


def measured_collateral(table: WeightTable) -> float | None:
    """Collateral minutes per officer-month: from the set itself, else from the latest measured set
    (a panel's adjusted set says what casework should take, not how much collateral work there is)."""
    if table.weight_set.collateral_minutes_per_officer_month is not None:
        return table.weight_set.collateral_minutes_per_officer_month
    measured = latest_weight_set(WeightKind.MEASURED)
    return measured.collateral_minutes_per_officer_month if measured else None


def weight_table(weight_set: CaseWeightSet) -> WeightTable:
    rows = list(weight_set.weights.values_list("case_type", "minutes_per_case_month", "case_months"))
    by_type = {ct: m for ct, m, _ in rows}
    months = np.array([cm or 1.0 for _, _, cm in rows])
    values = np.array([m for _, m, _ in rows])
    fallback = float((values * months).sum() / months.sum()) if len(rows) else 0.0
    return WeightTable(tuple(weight_set.group_by.split(",")), by_type, fallback, weight_set)


# --- Year value and training ------------------------------------------------------------------

def training_hours_by_officer(officer_ids: list[int], start: dt.date, end: dt.date) -> dict[int, float] | None:
    """Training hours per officer from the training records, or None when the app has none."""
    try:
        from caseload.training.services import training_hours
    except ImportError:
        return None
    hours = training_hours(officer_ids, start=start, end=end)
    return hours if any(hours.values()) else None


def year_value(params: dict, *, collateral_minutes_per_officer_month: float | None, officer_ids: list[int],
               as_of: dt.date) -> dict:
    """Hours a year an officer has for casework: paid − leave − training − collateral duties."""
    yv = params["year_value"]
    recorded = training_hours_by_officer(officer_ids, as_of - dt.timedelta(days=365), as_of) if officer_ids else None
    training = float(np.mean(list(recorded.values()))) if recorded else float(yv["default_training_hours"])
    collateral = (collateral_minutes_per_officer_month or 0.0) * 12 / 60
    hours = yv["paid_hours"] - yv["leave_hours"] - training - collateral
    if hours <= 0:
        raise CaseloadError("no_year_value", f"the parameters leave no casework time ({hours:.1f} hours a year)")
    return {"year_value_hours": round(hours, 1), "paid_hours": yv["paid_hours"], "leave_hours": yv["leave_hours"],
            "training_hours": round(training, 1), "training_hours_source": "records" if recorded else "default",
            "collateral_hours": round(collateral, 1), "source": yv["source"], "_training": recorded or {}}


def docket_officer_ids(office_id: int | None = None) -> list[int]:
    qs = docket_officers()
    if office_id is not None:
        qs = qs.filter(office_id=office_id)
    return list(qs.values_list("id", flat=True))


# --- Staffing plan ----------------------------------------------------------------------------

def open_case_counts(group_by: tuple[str, ...], *, by: str = "office", office_id: int | None = None,
                     extra: tuple[str, ...] = ()) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    """(owner ids, type index, counts) of open non-detained cases grouped by office or officer and type."""
    owner = "c.office_id" if by == "office" else "c.officer_id"
    where = "c.status = 'open' AND c.unit = 'non_detained'" + (" AND c.office_id = %s" if office_id else "")
    dims = ", ".join([_case_type_sql(group_by), *extra])
    source = "docket_case c JOIN docket_person p ON p.id = c.person_id" if office_id else _all_cases_sql(group_by)
    rows = _rows(f"SELECT {owner}, {dims}, COUNT(*) FROM {source} WHERE {where} GROUP BY {owner}, {dims}",
                 [office_id] if office_id else [])
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), [], np.zeros(0, dtype=np.int64)
    cols = list(zip(*rows, strict=True))
    index, names = _type_codes([np.array(c, dtype=object) for c in cols[1:-1]])
    owners = np.array([o if o is not None else 0 for o in cols[0]], dtype=np.int64)
    return owners, index, names, np.array(cols[-1], dtype=np.int64)


MAX_HIRES = 10_000


def staffing_plan(*, hires: int | None = None, weights_kind: str = WeightKind.MEASURED, overrides: dict | None = None,
                  max_hires_per_office: int | None = None, office_limits: dict[str, dict] | None = None,
                  budget: float | None = None) -> dict:
    """FTE need, gap and recommended caseload per office; optionally an allocation of new hires
    (at most ``MAX_HIRES``: many times the national workforce, and a bound on the programme's size)."""
    if hires is not None and not 0 <= hires <= MAX_HIRES:
        raise UsageError("invalid_hires", f"--hires must be from 0 to {MAX_HIRES:,}, got {hires}")
    if max_hires_per_office is not None and not 0 <= max_hires_per_office <= MAX_HIRES:
        raise UsageError("invalid_max_hires", f"--max-hires-per-office must be from 0 to {MAX_HIRES:,}, got {max_hires_per_office}")
    if budget is not None and budget < 0:
        raise UsageError("invalid_budget", f"--budget must be 0 or more, got {budget}")
    params = parameters(overrides)
    table = weight_table(weights_for(weights_kind))
    check_usable_weights(table)
    offices = list(FieldOffice.objects.filter(active=True).order_by("code").values_list("id", "code"))
    ids = [o for o, _ in offices]
    owners, tindex, tnames, counts = open_case_counts(table.group_by)
    w = table.lookup(tnames) if tnames else np.zeros(0)
    per_office_cases = np.zeros(len(ids))
    per_office_minutes = np.zeros(len(ids))
    pos = {o: i for i, o in enumerate(ids)}
    for owner, t, n in zip(owners, tindex, counts, strict=True):
        if owner in pos:
            per_office_cases[pos[owner]] += n
            per_office_minutes[pos[owner]] += n * w[t]
    officers = docket_officer_ids()
    yv = year_value(params, collateral_minutes_per_officer_month=measured_collateral(table),
                    officer_ids=officers, as_of=clock.today())
    yv_hours = yv["year_value_hours"]
    on_board = dict(docket_officers().values_list("office_id").annotate(n=Count("id")).values_list("office_id", "n"))
    board = np.array([on_board.get(o, 0) for o in ids], dtype=float)
    workload_hours = per_office_minutes * 12 / 60
    need = workload_hours / yv_hours
    gap = need - board

    allocation, comparison = np.zeros(len(ids), dtype=np.int64), None
    if hires:
        limits = np.full(len(ids), np.inf)
        if max_hires_per_office is not None:
            limits[:] = max_hires_per_office
        costs = np.ones(len(ids))
        for i, (_, code) in enumerate(offices):
            spec = (office_limits or {}).get(code, {})
            if "max_hires" in spec:
                limits[i] = min(limits[i], spec["max_hires"])
            if "cost" in spec:
                costs[i] = spec["cost"]
        upper = None if np.isinf(limits).all() else np.where(np.isinf(limits), hires, limits).astype(np.int64)
        result = hiring.allocate(need, board, hires, max_per_office=upper,
                                 cost=costs if budget is not None else None, budget=budget)
        naive = hiring.evaluate(need, board, hiring.proportional(per_office_cases, hires))
        allocation = result.hires
        comparison = {
            "method": ("exact integer programme (scipy.optimize.milp): minimise the largest shortfall ratio, then the "
                       "total shortfall, then the largest projected capacity %; then place as many hires as the limits "
                       "and budget allow, spread to lower the sum of projected capacities"),
            "hires_placed": result.hires_placed,
            "max_shortfall_ratio": round(result.max_shortfall_ratio, 4),
            "total_shortfall": round(result.total_shortfall, 2),
            "max_capacity_pct_after": _pct(result.max_capacity),
            "proportional": {"rule": "hires in proportion to docket size",
                             "max_shortfall_ratio": round(naive.max_shortfall_ratio, 4),
                             "total_shortfall": round(naive.total_shortfall, 2),
                             "max_capacity_pct_after": _pct(naive.max_capacity),
                             "hires": {code: int(h) for (_, code), h in zip(offices, naive.hires, strict=True) if h}},
        }

    rows = []
    for i, (_, code) in enumerate(offices):
        cases = int(per_office_cases[i])
        staffed_before, staffed_after = board[i], board[i] + allocation[i]
        rows.append({
            "office": code,
            "cases": cases,
            "workload_hours": round(float(workload_hours[i]), 1),
            "fte_need": round(float(need[i]), 2),
            "on_board": int(board[i]),
            "gap": round(float(gap[i]), 2),
            "recommended_caseload": round(yv_hours * cases / workload_hours[i]) if workload_hours[i] > 0 else None,
            "hires": int(allocation[i]),
            "capacity_pct_before": round(100 * need[i] / staffed_before, 1) if staffed_before else None,
            "capacity_pct_after": round(100 * need[i] / staffed_after, 1) if staffed_after else None,
        })
    total_hours = float(workload_hours.sum())
    national = {
        "cases": int(per_office_cases.sum()),
        "workload_hours": round(total_hours, 1),
        "fte_need": round(float(need.sum()), 2),
        "on_board": int(board.sum()),
        "gap": round(float(gap.sum()), 2),
        "recommended_caseload": round(yv_hours * per_office_cases.sum() / total_hours) if total_hours else None,
        "hires": int(allocation.sum()),
        "weights": weights_used(table),
        "year_value": {k: v for k, v in yv.items() if not k.startswith("_")},
    }
    if comparison:
        national["allocation"] = comparison
    return {"year_value_hours": yv_hours, "offices": rows, "national": national}


def _pct(ratio: float | None) -> float | None:
    """A capacity ratio as a rounded percentage; None for no need or an office left without officers."""
    return round(100 * ratio, 1) if ratio is not None and np.isfinite(ratio) else None


def check_usable_weights(table: WeightTable) -> None:
    """Refuse a weight set that gives every case type zero minutes: a plan on it would report no
    workload and a surplus of officers."""
    if not any(v > 0 for v in table.by_type.values()):
        ws = table.weight_set
        raise CaseloadError("zero_weights", f"weight set {ws.pk} ({ws.kind}, {ws.name!r}) gives every case type 0 minutes; "
                                            "measure a period that holds time-log entries (caseload workload weights "
                                            "--from DATE --to DATE --save) or load a panel's weights")


def weights_used(table: WeightTable) -> dict:
    """Which weights a computation used: the set, its kind, name, grouping, period and provenance."""
    ws = table.weight_set
    return {"kind": ws.kind, "set": ws.pk, "name": ws.name, "group_by": list(table.group_by),
            "period": {"from": ws.period_from.isoformat(), "to": ws.period_to.isoformat()} if ws.period_from and ws.period_to else None,
            "provenance": ws.provenance}


# --- Officer capacity, balancing, assignment ------------------------------------------------

@dataclass
class OfficeCases:
    """The open non-detained cases of one office as columns, with their balancing type."""

    office: FieldOffice
    case_ids: np.ndarray
    officer_ids: np.ndarray       # 0 = unassigned
    a_numbers: np.ndarray
    next_due: np.ndarray
    key_index: np.ndarray         # index into keys
    keys: list[tuple[str, bool, bool]]   # (weight type, national security, check-in within the window)


def office_cases(office: FieldOffice, group_by: tuple[str, ...], *, as_of: dt.date, continuity_days: int,
                 unit: str = Unit.NON_DETAINED) -> OfficeCases:
    rows = _rows(
        f"SELECT c.id, c.officer_id, p.a_number, c.next_report_due, p.national_security_flag, {_case_type_sql(group_by)} "
        "FROM docket_case c JOIN docket_person p ON p.id = c.person_id "
        "WHERE c.office_id = %s AND c.status = 'open' AND c.unit = %s ORDER BY c.id",
        [office.id, str(unit)],
    )
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return OfficeCases(office, empty, empty, np.zeros(0, dtype=object), np.zeros(0, dtype="datetime64[D]"), empty, [])
    cols = list(zip(*rows, strict=True))
    next_due = np.array([d if d is not None else np.datetime64("NaT") for d in cols[3]], dtype="datetime64[D]")
    today = np.datetime64(as_of, "D")
    soon = (next_due >= today) & (next_due <= today + np.timedelta64(continuity_days, "D"))
    ns = np.array(cols[4], dtype=bool)
    type_index, type_names = _type_codes([np.array(c, dtype=object) for c in cols[5:]])
    combined = type_index * 4 + ns * 2 + soon
    present, key_index = np.unique(combined, return_inverse=True)
    keys = [(type_names[c // 4], bool(c % 4 // 2), bool(c % 2)) for c in present]
    return OfficeCases(office, np.array(cols[0], dtype=np.int64),
                       np.array([o or 0 for o in cols[1]], dtype=np.int64), np.array(cols[2], dtype=object),
                       next_due, key_index, keys)


@dataclass
class OfficeOfficers:
    ids: np.ndarray
    names: list[str]
    status: np.ndarray
    available: np.ndarray         # casework minutes per month
    certified: np.ndarray


def office_officers(office: FieldOffice, params: dict, collateral: float | None, *, as_of: dt.date,
                    unit: str = Unit.NON_DETAINED) -> OfficeOfficers:
    officers = docket_officers() if unit == Unit.NON_DETAINED else \
        Officer.objects.filter(unit=unit).exclude(status=OfficerStatus.SEPARATED)
    rows = list(officers.filter(office=office).order_by("id")
                .values_list("id", "first_name", "last_name", "status", "weekly_hours"))
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    yv = year_value(params, collateral_minutes_per_officer_month=collateral, officer_ids=list(ids), as_of=as_of)
    training = yv["_training"]
    hours = np.array([
        float(r[4]) / 40 * yv["paid_hours"] - yv["leave_hours"] - training.get(r[0], yv["training_hours"]) - yv["collateral_hours"]
        for r in rows
    ])
    certified = certified_officers(params["balance"]["gated_certification"], office=office, as_of=as_of)
    return OfficeOfficers(ids, [f"{r[1]} {r[2]}" for r in rows], np.array([r[3] for r in rows], dtype=object),
                          np.maximum(hours, 0) * 60 / 12, np.array([i in certified for i in ids], dtype=bool))


def certified_officers(certification: str, *, office: FieldOffice, as_of: dt.date) -> set[int]:
    """Officers holding a current ``certification`` (training records); none when the app has no records."""
    try:
        from caseload.training.services import officers_with_current_certification
    except ImportError:
        return set()
    try:
        return set(officers_with_current_certification(certification, as_of=as_of, office_id=office.id))
    except NotFound:  # the course is not in the curriculum: nobody holds it
        return set()


def _problem(cases: OfficeCases, officers: OfficeOfficers, table: WeightTable) -> balancing.Problem:
    pos = {o: i for i, o in enumerate(officers.ids)}
    held = np.array([pos.get(o, -1) for o in cases.officer_ids])
    mask = held >= 0
    counts = np.zeros((len(officers.ids), len(cases.keys)), dtype=np.int64)
    np.add.at(counts, (held[mask], cases.key_index[mask]), 1)
    return balancing.Problem(
        counts=counts,
        weights=table.lookup([k[0] for k in cases.keys]) if cases.keys else np.zeros(0),
        available=officers.available,
        eligible=officers.status == OfficerStatus.ACTIVE,
        certified=officers.certified,
        gated=np.array([k[1] for k in cases.keys], dtype=bool),
        sticky=np.array([k[2] for k in cases.keys], dtype=bool),
    )


@dataclass
class OfficeState:
    """What balancing, assignment and capacity read about one office."""

    params: dict
    office: FieldOffice
    table: WeightTable
    cases: OfficeCases
    officers: OfficeOfficers
    problem: balancing.Problem


def office_state(office: FieldOffice, weights_kind: str = WeightKind.MEASURED,
                 unit: str = Unit.NON_DETAINED, table: WeightTable | None = None) -> OfficeState:
    params = parameters()
    table = table or weight_table(weights_for(weights_kind))
    as_of = clock.today()
    cases = office_cases(office, table.group_by, as_of=as_of, continuity_days=params["balance"]["continuity_days"],
                         unit=unit)
    officers = office_officers(office, params, measured_collateral(table), as_of=as_of, unit=unit)
    return OfficeState(params, office, table, cases, officers, _problem(cases, officers, table))


def officer_capacity(*, office: str | None = None, weights_kind: str = WeightKind.MEASURED) -> list[dict]:
    """Capacity % per docket officer: weighted load ÷ available casework minutes a month."""
    offices = [access_office(office)] if office else list(FieldOffice.objects.filter(active=True).order_by("code"))
    out = []
    for fo in offices:
        state = office_state(fo, weights_kind)
        officers, p = state.officers, state.problem
        load = p.loads()
        for i, oid in enumerate(officers.ids):
            out.append({"officer": int(oid), "name": officers.names[i], "office": fo.code, "status": officers.status[i],
                        "cases": int(p.counts[i].sum()), "weighted_minutes_per_month": round(float(load[i]), 1),
                        "available_minutes_per_month": round(float(officers.available[i]), 1),
                        "capacity_pct": round(100 * float(load[i] / officers.available[i]), 1) if officers.available[i] > 0 else None})
    return out


def balance_office(code: str, *, max_moves: int | None = None, apply: bool = False, actor_label: str = "cli:balance",
                   weights_kind: str = WeightKind.MEASURED, time_limit: float | None = None,
                   method: str = "cp-sat", actor=None, reason: str = "") -> dict:
    """Propose (and with ``apply`` perform) reassignments inside one office. ``actor`` (a user)
    and ``reason`` are recorded on each move's audit event."""
    started = time.perf_counter()
    if max_moves is not None and max_moves < 0:
        raise UsageError("invalid_max_moves", "--max-moves must be 0 or more")
    state = office_state(access_office(code), weights_kind)
    params, office, table, cases, officers, p = (state.params, state.office, state.table, state.cases, state.officers,
                                                 state.problem)
    if method == "greedy":
        solution = balancing.greedy(p, max_moves=max_moves)
    else:
        solution = balancing.solve(p, max_moves=max_moves, tolerance=params["balance"]["tolerance"],
                                   time_limit=time_limit or params["balance"]["time_limit_seconds"])
    before, after = p.figures(), p.figures(solution.counts)
    detail = _concrete_moves(cases, officers, p, solution.counts, office, before, after)
    result = {
        "office": office.code,
        "before": before,
        "after": after,
        "moves": len(detail),
        "lower_bound_moves": solution.lower_bound_moves,
        "seconds": round(time.perf_counter() - started, 3),
        "method": solution.method,
        "status": solution.status,
        "solver": solution.details,
        "officers_not_balanced": [{"officer": int(o), "status": s} for o, s in zip(officers.ids, officers.status, strict=True)
                                  if s != OfficerStatus.ACTIVE],
        "weights": {"kind": table.weight_set.kind, "set": table.weight_set.pk},
        "applied": False,
        "moves_detail": detail,
    }
    if apply and detail:
        do_apply_moves(office=office, moves=detail, actor_label=actor_label, method=AssignmentMethod.BALANCING,
                       actor=actor, reason=reason)
        result["applied"] = True
    result["seconds"] = round(time.perf_counter() - started, 3)
    return result


def _concrete_moves(cases: OfficeCases, officers: OfficeOfficers, p: balancing.Problem, after: np.ndarray,
                    office: FieldOffice, before_fig: dict, after_fig: dict) -> list[dict]:
    """Turn count changes into cases: from each giving officer, the cases of the type whose next
    check-in is furthest away (least disruption), lowest id first among equals."""
    delta = after - p.counts
    cap_before = p.capacity()
    cap_after = p.capacity(after)
    moves = []
    pos = {o: i for i, o in enumerate(officers.ids)}
    held = np.array([pos.get(o, -1) for o in cases.officer_ids])
    far = np.where(np.isnat(cases.next_due), np.datetime64("9999-12-31"), cases.next_due)
    for t in range(delta.shape[1]):
        givers = [(i, -int(d)) for i, d in enumerate(delta[:, t]) if d < 0]
        takers = [[i, int(d)] for i, d in enumerate(delta[:, t]) if d > 0]
        for i, k in givers:
            candidates = np.flatnonzero((held == i) & (cases.key_index == t))
            order = np.lexsort((cases.case_ids[candidates], -far[candidates].astype(np.int64)))
            for c in candidates[order][:k]:
                j = next(idx for idx, slot in enumerate(takers) if slot[1] > 0)
                dest = takers[j][0]
                takers[j][1] -= 1
                moves.append({
                    "case_id": int(cases.case_ids[c]),
                    "a_number": anumber.display(cases.a_numbers[c]),
                    "from_officer": int(officers.ids[i]),
                    "to_officer": int(officers.ids[dest]),
                    "case_type": cases.keys[t][0],
                    "explanation": (
                        f"Moved from {officers.names[i]} (capacity {cap_before[i]:.0f}% before, {cap_after[i]:.0f}% after) "
                        f"to {officers.names[dest]} ({cap_before[dest]:.0f}% before, {cap_after[dest]:.0f}% after) to balance "
                        f"{office.code}: the largest capacity in the office goes from {before_fig['max_capacity_pct']}% "
                        f"to {after_fig['max_capacity_pct']}%."
                        + (" The case has a check-in within the continuity window; it moves because no other move "
                           "reaches the same balance." if cases.keys[t][2] else "")
                    ),
                })
    return moves


def do_apply_moves(*, office: FieldOffice, moves: list[dict], actor_label: str, method: str, actor=None,
                   reason: str = "") -> None:
    """Reassign the cases in one transaction; refuse all if any case changed hands meanwhile."""
    now = clock.now()
    with transaction.atomic():
        with connection.cursor() as cur:
            if method == AssignmentMethod.BALANCING:
                cur.executemany("UPDATE docket_case SET officer_id = %s, version = version + 1 "
                                "WHERE id = %s AND status = 'open' AND officer_id = %s",
                                [(m["to_officer"], m["case_id"], m["from_officer"]) for m in moves])
            else:
                cur.executemany("UPDATE docket_case SET officer_id = %s, version = version + 1 "
                                "WHERE id = %s AND status = 'open' AND officer_id IS NULL",
                                [(m["to_officer"], m["case_id"]) for m in moves])
            changed = cur.rowcount
        if changed != len(moves):
            raise Conflict("stale_assignment", f"{len(moves) - changed} of {len(moves)} cases changed hands or closed "
                                               "since the proposal was computed; nothing was moved, run it again")
        _recount_open_cases({m["to_officer"] for m in moves} | {m["from_officer"] for m in moves if m["from_officer"]})
        AssignmentRecord.objects.bulk_create(
            [AssignmentRecord(case_id=m["case_id"], office=office, from_officer_id=m["from_officer"] or None,
                              to_officer_id=m["to_officer"], method=method, explanation=m["explanation"],
                              assigned_at=now, actor_label=actor_label) for m in moves],
            batch_size=2000,
        )
        audit.record_many([
            {"action": "case.reassigned" if m["from_officer"] else "case.assigned", "object_type": "case",
             "object_id": m["case_id"], "office_id": office.id,
             "details": {"from_officer": m["from_officer"], "to_officer": m["to_officer"], "method": method,
                         "explanation": m["explanation"], **({"reason": reason} if reason else {})}}
            for m in moves
        ], actor=actor, actor_label=actor_label)


def _recount_open_cases(officer_ids) -> None:
    """Bring the denormalised ``open_cases`` of these officers in step (inside the assignment's transaction)."""
    for officer_id in officer_ids:
        Officer.objects.filter(pk=officer_id).update(
            open_cases=Case.objects.filter(officer_id=officer_id, status=CaseStatus.OPEN).count())


def do_assign_case(*, case: Case, officer_id: int, reason: str, actor=None, actor_label: str | None = None) -> AssignmentRecord:
    """A supervisor's manual assignment (or reassignment) of one open case to a named officer.

    The officer must be active in the case's office and unit, and hold the national-security
    certification for a national-security case (the rule automatic assignment follows). ``case``
    carries the version it was read with: a stale one is refused (``stale_case``). The case's
    history, the audit event (with the reason) and the assignment record are written in one
    transaction."""
    from caseload.docket.lifecycle import check_open, check_reason, write_case

    reason = check_reason(reason)
    check_open(case)
    target = Officer.objects.filter(pk=officer_id).first()
    if target is None:
        raise NotFound("unknown_officer", f"no officer with id {officer_id}")
    if target.office_id != case.office_id or target.unit != case.unit or target.status != OfficerStatus.ACTIVE:
        raise Conflict("officer_not_eligible", f"{target.name} is not an active officer of case {case.pk}'s office and unit")
    if case.officer_id == target.pk:
        raise Conflict("already_assigned", f"case {case.pk} is already assigned to {target.name}")
    if case.person.national_security_flag and target.pk not in certified_officers(
            parameters()["balance"]["gated_certification"], office=case.office, as_of=clock.today()):
        raise Conflict("officer_not_certified",
                       f"case {case.pk} is a national-security case and {target.name} does not hold the certification")
    from_officer = case.officer_id
    explanation = f"Assigned to {target.name} by {actor_label or actor.get_username()}: {reason}"
    with transaction.atomic():
        write_case(case, changes={"officer_id": target.pk}, action="case.reassigned" if from_officer else "case.assigned",
                   actor=actor, actor_label=actor_label, reason=reason,
                   details={"from_officer": from_officer, "to_officer": target.pk, "method": AssignmentMethod.MANUAL,
                            "explanation": explanation})
        _recount_open_cases({target.pk} | ({from_officer} if from_officer else set()))
        return AssignmentRecord.objects.create(case_id=case.pk, office_id=case.office_id, from_officer_id=from_officer,
                                               to_officer=target, method=AssignmentMethod.MANUAL, explanation=explanation,
                                               assigned_at=clock.now(), actor_label=actor_label or actor.get_username())


def assign_unassigned(code: str, *, apply: bool = True, actor_label: str = "cli:assign",
                      weights_kind: str = WeightKind.MEASURED, limit: int | None = None,
                      unit: str = Unit.NON_DETAINED, case_ids=None, table: WeightTable | None = None, actor=None,
                      reason: str = "") -> dict:
    """Give each unassigned open case of an office to the eligible officer with the lowest capacity %.

    Eligible: an active officer of the office and ``unit`` (non-detained by default), holding the
    certification when the person has the national-security flag. Loads are updated as cases are
    placed. ``case_ids`` limits the run to those cases (intake, an officer's departure); ``table``
    gives the weights instead of the latest set of ``weights_kind``.
    """
    state = office_state(access_office(code), weights_kind, unit, table)
    office, table, cases, officers = state.office, state.table, state.cases, state.officers
    load = state.problem.loads().astype(float)
    avail = np.where(officers.available > 0, officers.available, np.nan)
    active = officers.status == OfficerStatus.ACTIVE
    unassigned = cases.officer_ids == 0
    if case_ids is not None:
        unassigned &= np.isin(cases.case_ids, np.asarray(list(case_ids), dtype=np.int64))
    pending = np.flatnonzero(unassigned)[: limit if limit else None]
    moves, unplaced = [], []
    for c in pending:
        key = cases.keys[cases.key_index[c]]
        weight = float(table.lookup([key[0]])[0])
        eligible = active & ~np.isnan(avail) & (officers.certified if key[1] else True)
        if not eligible.any():
            unplaced.append({"case_id": int(cases.case_ids[c]), "reason": "no eligible officer"
                             + (" holds the national-security certification" if key[1] else " is active")})
            continue
        cap = np.where(eligible, load / avail, np.inf)
        j = int(np.argmin(cap))
        before = 100 * cap[j]
        load[j] += weight
        moves.append({
            "case_id": int(cases.case_ids[c]), "a_number": anumber.display(cases.a_numbers[c]), "from_officer": None,
            "to_officer": int(officers.ids[j]), "case_type": key[0],
            "explanation": (f"Assigned automatically to {officers.names[j]}: the lowest capacity among "
                            f"{int(eligible.sum())} eligible officer{'s' if eligible.sum() != 1 else ''} ({before:.0f}% before, {100 * load[j] / avail[j]:.0f}% after)"
                            + ("; national-security case: certified officers only." if key[1] else ".")),
        })
    if apply and moves:
        do_apply_moves(office=office, moves=moves, actor_label=actor_label, method=AssignmentMethod.AUTOMATIC,
                       actor=actor, reason=reason)
    return {"office": office.code, "assigned": len(moves), "unplaced": unplaced, "applied": bool(apply and moves),
            "assignments": moves}


def outliers(*, office: str | None = None, weights_kind: str = WeightKind.MEASURED,
             capacity: list[dict] | None = None) -> list[dict]:
    """Officers more than ``iqr_multiple`` IQRs above their office's third quartile on caseload,
    capacity % or overdue-task rate, with the metric, the value and the office median.
    ``capacity`` reuses rows of :func:`officer_capacity` already computed for the same offices."""
    params = parameters()
    k = params["outliers"]["iqr_multiple"]
    capacity = capacity if capacity is not None else officer_capacity(office=office, weights_kind=weights_kind)
    rows = [dict(r) for r in capacity if r["status"] == OfficerStatus.ACTIVE]
    overdue = _overdue_rates(office)
    for r in rows:
        r["overdue_rate"] = overdue.get(r["officer"])
    out = []
    by_office: dict[str, list[dict]] = {}
    for r in rows:
        by_office.setdefault(r["office"], []).append(r)
    for code, members in sorted(by_office.items()):
        for metric in ("cases", "capacity_pct", "overdue_rate"):
            values = np.array([m[metric] for m in members if m[metric] is not None], dtype=float)
            if len(values) < 4:
                continue  # quartiles of fewer than four officers say nothing
            q1, median, q3 = np.percentile(values, [25, 50, 75])
            threshold = q3 + k * (q3 - q1)
            for m in members:
                if m[metric] is not None and m[metric] > threshold:
                    out.append({"officer": m["officer"], "name": m["name"], "office": code, "metric": metric,
                                "value": m[metric], "office_median": round(float(median), 2),
                                "office_iqr": round(float(q3 - q1), 2), "threshold": round(float(threshold), 2)})
    return out


def _overdue_rates(office: str | None) -> dict[int, float]:
    """Overdue tasks per open case for each officer, from the worklist's overdue summary."""
    from caseload.docket.worklist import overdue_summary

    rows = overdue_summary(office=office, as_of=clock.today())["officers"]
    return {r["officer"]: round(r["overdue"] / r["open_cases"], 4) for r in rows if r["open_cases"]}
