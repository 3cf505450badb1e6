"""The forecast's Django side: read the docket's state and rates, build the engine's model for a
scenario, run it, compare scenarios, and give the staffing plan its horizon docket.

What is read (docs/forecast.md, "Where the numbers come from"):

- open non-detained cases by office x priority band x citizenship x stage, with their case
  weights (measured or adjusted, the staffing app's weight sets);
- inflow: cases opened in the last ``window_days`` (their stage at opening, band and
  citizenship), spread over the year by the month-of-year profile of the imported arrest and
  encounter extracts (flat when none are imported);
- stage flows: monthly rates from the docket's stage dates in the window (appeals filed, final
  orders dated, cases closed as relief granted, terminated, removed or closed with their stage
  kept, people marked failed to report), per office with shrinkage to the national rate; the
  defaults of ``data/defaults.toml`` where the docket holds too few events;
- removals: the docket's own removals in the window when it holds enough, else the default
  pursuit share; split over tiers by the apprehension-to-removal lead times per tier (imported
  removal extracts, else the shipped FY2016 figures) and the refusal rates of the
  travel-document ledger, and over bands by the priority band weights; quotas of restricted
  countries from the tier history, less the documents issued so far in the quota year;
- officers on board (the docket's officers), their year value (the staffing model).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.db import connection
from django.db.models import Count

from caseload.core import clock
from caseload.core.errors import UsageError
from caseload.forecast import engine
from caseload.forecast.scenario import BASELINE, TIERS, Known, Scenario, defaults, read_scenario
from caseload.policy.documents import InvalidDocument, Problem

BANDS = ("level 1", "level 2", "level 3+", "unclassified")
STAGES = engine.STAGES
DAYS_PER_MONTH = 365.25 / 12
EXECUTORS = ("local", "dask")
SHIPPED_DURATIONS = Path(__file__).resolve().parents[1] / "countries" / "data" / "removal_durations_fy2016.json"


class InvalidScenario(UsageError):
    """A scenario file was refused; ``details['problems']`` lists every problem."""

    def __init__(self, problems: list[Problem]) -> None:
        files = sorted({p.file for p in problems})
        super().__init__("invalid_scenario", f"{len(problems)} problem(s) in {', '.join(files)}; nothing was run",
                         problems=[p.as_dict() for p in problems])
        self.problems = problems


def _rows(sql: str, params: Sequence = ()) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql, list(params))
        return cur.fetchall()


def _scan() -> str:
    """The case table for a whole-docket pass: a table scan on SQLite (see docs/staffing.md)."""
    return "docket_case c NOT INDEXED" if connection.vendor == "sqlite" else "docket_case c"


def band_of_rank(rank: np.ndarray) -> np.ndarray:
    """Band index of priority ranks: 1 -> level 1, 2 -> level 2, 3 and more -> level 3+, none -> unclassified."""
    rank = np.asarray(rank, dtype=np.int64)
    return np.select([rank == 1, rank == 2, rank >= 3], [0, 1, 2], default=3)


# --- Scenario files ---------------------------------------------------------------------------------

def known() -> Known:
    from caseload.countries.models import Country
    from caseload.offices.models import FieldOffice
    from caseload.policy.models import RuleSet

    return Known(offices=frozenset(FieldOffice.objects.values_list("code", flat=True)),
                 countries=frozenset(Country.objects.values_list("code", flat=True)),
                 rule_sets=frozenset(RuleSet.objects.values_list("id", flat=True)))


def load_scenario(path: str | Path | None) -> Scenario:
    """The scenario of a file (``None`` or ``baseline``: today's docket and rates, no changes)."""
    if path is None or str(path) == "baseline":
        return BASELINE
    path = Path(path)
    try:
        return read_scenario(path, known())
    except OSError as exc:
        raise UsageError("unreadable_file", f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError("unreadable_file", f"{path} is not UTF-8 text") from None
    except InvalidDocument as exc:
        raise InvalidScenario(exc.problems) from None


def check_scenario_text(text: str, *, file: str) -> Scenario:
    """Check an uploaded scenario's text (the page's upload); InvalidScenario lists every problem."""
    from caseload.forecast.scenario import parse_scenario

    try:
        return parse_scenario(text, file=file, known=known())
    except InvalidDocument as exc:
        raise InvalidScenario(exc.problems) from None


# --- The docket's state -----------------------------------------------------------------------------

@dataclass
class DocketState:
    """One read of the docket, shared by the scenarios built from it."""

    as_of: dt.date
    window: tuple[dt.date, dt.date]
    office_ids: list[int]
    offices: list[str]
    countries: list[str]                     # index -> ISO code ("" = unknown)
    base_tier: np.ndarray                    # (C,) tier index today
    quotas: dict[str, int]                   # restricted countries' annual quotas today
    officers: np.ndarray                     # (O,)
    officer_ids: list[int]
    events: dict[str, np.ndarray]            # name -> (O,) counts in the window
    stage_stock: np.ndarray                  # (O, S) open cases today
    openings: np.ndarray                     # (O, B, C, S) cases opened in the window, by stage at opening
    season: np.ndarray                       # (12,) month-of-year profile, mean 1 (index 0 = January)
    season_source: str
    lead_times: dict[str, float]             # tier -> median days from apprehension to removal
    lead_time_source: str
    refusal: dict[str, float]                # tier -> refusal rate of decided travel-document requests
    quota_used: int
    quota_year: tuple[dt.date, dt.date]
    _cells: dict = field(default_factory=dict)   # (group_by, rule set) -> (counts (O,B,C,S), minutes (O,B,C,S))

    def cells(self, weights_kind: str, rule_set: str | None) -> tuple[np.ndarray, np.ndarray, object]:
        key = (weights_kind, rule_set)
        if key not in self._cells:
            self._cells[key] = _read_cells(self, weights_kind, rule_set)
        return self._cells[key]


def _index(values: Sequence, lookup: dict) -> np.ndarray:
    return np.array([lookup.get(v, -1) for v in values], dtype=np.int64)


def read_docket(*, as_of: dt.date | None = None, progress: Callable[[str], None] | None = None) -> DocketState:
    """Everything the forecast reads from the database except the per-case cells (read per weight kind)."""
    from caseload.countries import config as tdconfig
    from caseload.countries.models import Country
    from caseload.countries.services import tiers_as_of
    from caseload.docket.services import docket_officers
    from caseload.offices.models import FieldOffice

    as_of = as_of or clock.today()
    params = defaults()
    window = (as_of - dt.timedelta(days=params["measurement"]["window_days"]), as_of)
    offices = list(FieldOffice.objects.filter(active=True).order_by("code").values_list("id", "code"))
    office_pos = {oid: i for i, (oid, _) in enumerate(offices)}
    countries = ["", *Country.objects.order_by("code").values_list("code", flat=True)]
    tiers = tiers_as_of(as_of)
    tier_index = {t: i for i, t in enumerate(TIERS)}
    base_tier = np.array([tier_index.get(tiers[c].tier, 0) if c in tiers else 0 for c in countries], dtype=np.int64)
    quotas = {c: int(t.quota) for c, t in tiers.items() if t.tier == "restricted" and t.quota is not None}
    on_board = dict(docket_officers().values_list("office_id").annotate(n=Count("id")).values_list("office_id", "n"))
    officer_ids = list(docket_officers().values_list("id", flat=True))
    if progress:
        progress("reading stage dates")
    events, stage_stock = _read_events(window, office_pos, len(offices))
    if progress:
        progress("reading openings")
    openings = _read_openings(window, office_pos, {c: i for i, c in enumerate(countries)}, len(offices), len(countries))
    season, season_source = _read_season()
    lead_times, lead_source = _lead_times()
    refusal = _refusal_rates(window, tiers)
    cfg = tdconfig.config()
    quota_year = cfg.quota_year(as_of)
    quota_used = _quota_used(list(quotas), quota_year)
    return DocketState(as_of=as_of, window=window, office_ids=[o for o, _ in offices], offices=[c for _, c in offices],
                       countries=countries, base_tier=base_tier, quotas=quotas,
                       officers=np.array([on_board.get(o, 0) for o, _ in offices], dtype=float), officer_ids=officer_ids,
                       events=events, stage_stock=stage_stock, openings=openings, season=season,
                       season_source=season_source, lead_times=lead_times, lead_time_source=lead_source,
                       refusal=refusal, quota_used=quota_used, quota_year=quota_year)


EVENT_NAMES = ("pending_to_appeal", "pending_to_final_order", "appeal_to_final_order",
               "pending_relief", "appeal_relief", "pending_terminated", "appeal_terminated", "final_order_terminated",
               "removed", "pending_departed", "appeal_departed", "final_order_departed",
               "pending_failed_to_report", "appeal_failed_to_report", "final_order_failed_to_report")


def _read_events(window: tuple[dt.date, dt.date], office_pos: dict, n_offices: int) -> tuple[dict, np.ndarray]:
    """Stage transitions in the window per office, from the cases' stage dates, and today's stock by stage."""
    w0, w1 = window

    def inside(column: str) -> str:
        return f"{column} > %s AND {column} <= %s"

    closed = f"c.status = 'closed' AND {inside('c.closed_on')}"
    before_order = "c.final_order_date IS NULL"
    conditions = [
        (f"{inside('c.appeal_filed_on')} AND c.appeal_filed_on >= c.opened_on", 2),
        (f"{inside('c.final_order_date')} AND c.final_order_date > c.opened_on AND "
         "(c.appeal_filed_on IS NULL OR c.appeal_filed_on > c.final_order_date)", 2),
        (f"{inside('c.final_order_date')} AND c.final_order_date > c.opened_on AND "
         "c.appeal_filed_on IS NOT NULL AND c.appeal_filed_on <= c.final_order_date", 2),
        (f"{closed} AND c.stage = 'relief_granted' AND c.appeal_filed_on IS NULL", 2),
        (f"{closed} AND c.stage = 'relief_granted' AND c.appeal_filed_on IS NOT NULL", 2),
        (f"{closed} AND c.stage = 'terminated' AND {before_order} AND c.appeal_filed_on IS NULL", 2),
        (f"{closed} AND c.stage = 'terminated' AND {before_order} AND c.appeal_filed_on IS NOT NULL", 2),
        (f"{closed} AND c.stage = 'terminated' AND c.final_order_date IS NOT NULL", 2),
        (f"{closed} AND c.stage = 'removed'", 2),
        (f"{closed} AND c.stage = 'pending'", 2),
        (f"{closed} AND c.stage = 'appeal'", 2),
        (f"{closed} AND c.stage = 'final_order'", 2),
    ]
    sums = ", ".join(f"SUM(CASE WHEN {cond} THEN 1 ELSE 0 END)" for cond, _ in conditions)
    stocks = ", ".join(f"SUM(CASE WHEN c.status = 'open' AND c.stage = '{s}' THEN 1 ELSE 0 END)" for s in STAGES)
    params = [d for _, n in conditions for d in (w0, w1)[:n]]
    rows = _rows(f"SELECT c.office_id, {sums}, {stocks} FROM {_scan()} WHERE c.unit = 'non_detained' GROUP BY c.office_id",
                 params)
    counts = np.zeros((n_offices, len(EVENT_NAMES)))
    stock = np.zeros((n_offices, len(STAGES)))
    for row in rows:
        i = office_pos.get(row[0])
        if i is None:
            continue
        values = [v or 0 for v in row[1:]]
        counts[i, :len(conditions)] = values[:len(conditions)]
        stock[i] = values[len(conditions):]
    ftr = _rows(
        "SELECT c.office_id, c.stage, COUNT(*) FROM docket_case c JOIN docket_person p ON p.id = c.person_id "
        "WHERE p.failed_to_report_on > %s AND p.failed_to_report_on <= %s "
        "AND c.unit IN ('non_detained', 'fugitive_operations') AND c.stage IN ('pending', 'appeal', 'final_order') "
        "GROUP BY c.office_id, c.stage", [w0, w1])
    base = EVENT_NAMES.index("pending_failed_to_report")
    for office_id, stage, n in ftr:
        if office_id in office_pos:
            counts[office_pos[office_id], base + STAGES.index(stage)] += n
    return {name: counts[:, k] for k, name in enumerate(EVENT_NAMES)}, stock


def _read_openings(window: tuple[dt.date, dt.date], office_pos: dict, country_pos: dict, n_offices: int,
                   n_countries: int) -> np.ndarray:
    """Cases opened in the window by office, band, citizenship and their stage when opened."""
    stage_at_opening = ("CASE WHEN c.final_order_date IS NOT NULL AND c.final_order_date <= c.opened_on THEN 2 "
                        "WHEN c.appeal_filed_on IS NOT NULL AND c.appeal_filed_on <= c.opened_on THEN 1 ELSE 0 END")
    rows = _rows(
        f"SELECT c.office_id, COALESCE(c.priority_rank, 0), p.citizenship, {stage_at_opening}, COUNT(*) "
        f"FROM {_scan()} JOIN docket_person p ON p.id = c.person_id "
        "WHERE c.unit = 'non_detained' AND c.opened_on > %s AND c.opened_on <= %s "
        f"GROUP BY c.office_id, COALESCE(c.priority_rank, 0), p.citizenship, {stage_at_opening}", list(window))
    out = np.zeros((n_offices, len(BANDS), n_countries, len(STAGES)))
    if rows:
        cols = list(zip(*rows, strict=True))
        o = _index(cols[0], office_pos)
        c = _index(cols[2], country_pos)
        c[c < 0] = 0
        keep = o >= 0
        np.add.at(out, (o[keep], band_of_rank(np.array(cols[1]))[keep], c[keep], np.array(cols[3])[keep]),
                  np.array(cols[4], dtype=float)[keep])
    return out


def _read_cells(state: DocketState, weights_kind: str, rule_set: str | None):
    """Open cases today as (O, B, C, S) counts and weighted minutes, for one weight kind; with a
    rule set, the bands are the levels that rule set gives the cases today."""
    from caseload.staffing.services import DIMENSIONS, weight_table, weights_for

    table = weight_table(weights_for(weights_kind, actor_label="cli:forecast"))
    key_sql = " || '/' || ".join(f"({DIMENSIONS[d]})" for d in table.group_by)
    office_pos = {oid: i for i, oid in enumerate(state.office_ids)}
    country_pos = {c: i for i, c in enumerate(state.countries)}
    stage_pos = {s: i for i, s in enumerate(STAGES)}
    where = "c.status = 'open' AND c.unit = 'non_detained' AND c.stage IN ('pending', 'appeal', 'final_order')"
    source = f"{_scan()} JOIN docket_person p ON p.id = c.person_id"
    if rule_set is None:
        rows = _rows(f"SELECT c.office_id, c.stage, COALESCE(c.priority_rank, 0), p.citizenship, {key_sql}, COUNT(*) "
                     f"FROM {source} WHERE {where} "
                     f"GROUP BY c.office_id, c.stage, COALESCE(c.priority_rank, 0), p.citizenship, {key_sql}")
        if not rows:
            return _empty_cells(state), _empty_cells(state), table
        cols = list(zip(*rows, strict=True))
        ranks = np.array(cols[2], dtype=np.int64)
        counts = np.array(cols[5], dtype=float)
    else:
        rows = _rows(f"SELECT c.id, c.office_id, c.stage, 0, p.citizenship, {key_sql}, 1 FROM {source} WHERE {where} "
                     "ORDER BY c.id")
        if not rows:
            return _empty_cells(state), _empty_cells(state), table
        cols = list(zip(*rows, strict=True))
        ranks = _ranks_under(rule_set, state.as_of, np.array(cols[0], dtype=np.int64))
        cols = cols[1:]
        counts = np.ones(len(ranks))
    o = _index(cols[0], office_pos)
    s = _index(cols[1], stage_pos)
    c = _index(cols[3], country_pos)
    c[c < 0] = 0
    minutes = table.lookup(list(cols[4])) * counts
    keep = (o >= 0) & (s >= 0)
    idx = (o[keep], band_of_rank(ranks)[keep], c[keep], s[keep])
    n_cells, m_cells = _empty_cells(state), _empty_cells(state)
    np.add.at(n_cells, idx, counts[keep])
    np.add.at(m_cells, idx, minutes[keep])
    return n_cells, m_cells, table


def _empty_cells(state: DocketState) -> np.ndarray:
    return np.zeros((len(state.offices), len(BANDS), len(state.countries), len(STAGES)))


def _ranks_under(rule_set: str, as_of: dt.date, case_ids: np.ndarray) -> np.ndarray:
    """Priority rank (1 = most urgent) of each case under ``rule_set`` as of ``as_of``."""
    from caseload.policy.services import access_rule_set, classify_open_cases

    doc = access_rule_set(rule_set)
    result = classify_open_cases(doc, as_of=as_of)
    order = np.argsort(result.case_id)
    ids, levels = np.asarray(result.case_id)[order], np.asarray(result.level)[order]
    pos = np.searchsorted(ids, case_ids)
    pos = np.minimum(pos, max(len(ids) - 1, 0))
    found = len(ids) > 0
    return np.where(found & (ids[pos] == case_ids), levels[pos] + 1, 0) if found else np.zeros(len(case_ids), dtype=np.int64)


def _read_season() -> tuple[np.ndarray, str]:
    """Month-of-year profile of the imported arrests and encounters (mean 1), or flat."""
    from caseload.ingest.models import ArrestRecord, EncounterRecord

    counts = np.zeros(12)
    for model, column in ((ArrestRecord, "apprehension_date"), (EncounterRecord, "event_date")):
        table = model._meta.db_table
        month = f"CAST(strftime('%%m', {column}) AS INTEGER)" if connection.vendor == "sqlite" \
            else f"EXTRACT(MONTH FROM {column})::int"
        for m, n in _rows(f"SELECT {month}, COUNT(*) FROM {table} GROUP BY 1"):
            if m:
                counts[int(m) - 1] += n
    if counts.sum() == 0 or (counts == 0).any():
        return np.ones(12), "flat (no complete year of arrest or encounter extracts imported)"
    return counts / counts.mean(), f"imported arrest and encounter extracts ({int(counts.sum()):,} records)"


def _lead_times() -> tuple[dict[str, float], str]:
    """Median apprehension-to-removal days per tier: imported removal records, else the shipped FY2016 figures."""
    from caseload.countries.removals import durations_by_tier
    from caseload.ingest.models import RemovalRecord

    doc, source = None, ""
    if RemovalRecord.objects.exists():
        doc = durations_by_tier()
        source = f"imported removal records, FY{doc['fiscal_year']}"
    if doc is None or not any(v.get("median_days") for v in doc["by_tier"].values()):
        doc = json.loads(SHIPPED_DURATIONS.read_text())
        source = f"shipped FY{doc['fiscal_year']} figures from the ICE removal extract"
    medians = {t: float(v["median_days"]) for t, v in doc["by_tier"].items() if v.get("median_days")}
    fallback = medians.get("cooperative", 30.0)
    return {t: medians.get(t, fallback) for t in TIERS}, source


def _refusal_rates(window: tuple[dt.date, dt.date], tiers: dict) -> dict[str, float]:
    """Refused ÷ decided travel-document requests per tier (tier in force today), decided in the window."""
    from caseload.countries.models import ISSUED_STATUSES, TravelDocumentRequest, TravelDocumentStatus

    decided = {t: 0 for t in TIERS}
    refused = {t: 0 for t in TIERS}
    rows = (TravelDocumentRequest.objects.filter(decided_on__gt=window[0], decided_on__lte=window[1],
                                                 status__in=[*ISSUED_STATUSES, TravelDocumentStatus.REFUSED])
            .values_list("country_id", "status").annotate(n=Count("id")).values_list("country_id", "status", "n"))
    for country, status, n in rows:
        tier = tiers[country].tier if country in tiers else "cooperative"
        decided[tier] += n
        if status == TravelDocumentStatus.REFUSED:
            refused[tier] += n
    return {t: round(refused[t] / decided[t], 4) if decided[t] else 0.0 for t in TIERS}


def _quota_used(countries: list[str], quota_year: tuple[dt.date, dt.date]) -> int:
    from caseload.countries.models import ISSUED_STATUSES, TravelDocumentRequest

    if not countries:
        return 0
    return TravelDocumentRequest.objects.filter(country_id__in=countries, status__in=ISSUED_STATUSES,
                                                decided_on__range=quota_year).count()


# --- Building the model ---------------------------------------------------------------------------

def month_starts(as_of: dt.date, months: int) -> list[dt.date]:
    """First day of each forecast month: month 1 is the calendar month after ``as_of``."""
    out = []
    year, month = as_of.year, as_of.month
    for _ in range(months):
        month += 1
        if month > 12:
            year, month = year + 1, 1
        out.append(dt.date(year, month, 1))
    return out


def _rates(state: DocketState, params: dict, overrides: dict) -> tuple[np.ndarray, dict]:
    """(O, S, K) monthly transition probabilities and where each came from."""
    m = params["measurement"]
    months = (state.window[1] - state.window[0]).days / DAYS_PER_MONTH
    spec = {  # rate -> (stage, outcome, events)
        "pending_to_appeal": (engine.PENDING, engine.APPEAL_OUT, ["pending_to_appeal"]),
        "pending_to_final_order": (engine.PENDING, engine.FINAL_OUT, ["pending_to_final_order"]),
        "pending_relief": (engine.PENDING, engine.RELIEF, ["pending_relief"]),
        "pending_terminated": (engine.PENDING, engine.TERMINATED, ["pending_terminated"]),
        "appeal_to_final_order": (engine.APPEAL, engine.FINAL_OUT, ["appeal_to_final_order"]),
        "appeal_relief": (engine.APPEAL, engine.RELIEF, ["appeal_relief"]),
        "appeal_terminated": (engine.APPEAL, engine.TERMINATED, ["appeal_terminated"]),
    }
    for stage_name, stage in (("pending", engine.PENDING), ("appeal", engine.APPEAL), ("final_order", engine.FINAL)):
        spec[f"{stage_name}:departed"] = (stage, engine.DEPARTED, [f"{stage_name}_departed"])
        spec[f"{stage_name}:failed_to_report"] = (stage, engine.FAILED, [f"{stage_name}_failed_to_report"])
    rates = np.zeros((len(state.offices), 3, len(engine.OUTCOMES)))
    sources = {}
    for name, (stage, outcome, event_names) in spec.items():
        default_name = name.split(":")[1] if ":" in name else name
        events = sum(state.events[e] for e in event_names)
        exposure = state.stage_stock[:, stage] * months
        if default_name in overrides.get("rates", {}):
            rates[:, stage, outcome] = params["rates"][default_name]
            sources[name] = {"value": params["rates"][default_name], "source": "scenario"}
        elif events.sum() >= m["min_events"] and exposure.sum() > 0:
            national = events.sum() / exposure.sum()
            k = m["shrinkage_case_months"]
            rates[:, stage, outcome] = (events + k * national) / (exposure + k)
            sources[name] = {"value": round(float(national), 6), "source": f"measured: {int(events.sum()):,} events in the window"}
        else:
            rates[:, stage, outcome] = params["rates"][default_name]
            sources[name] = {"value": params["rates"][default_name],
                             "source": f"default ({int(events.sum())} events in the window, fewer than {m['min_events']})"}
    for stage in (engine.PENDING, engine.APPEAL, engine.FINAL):
        total = rates[:, stage].sum(axis=1, keepdims=True)
        rates[:, stage] = np.where(total > 0.95, rates[:, stage] * 0.95 / np.maximum(total, 1e-12), rates[:, stage])
    return rates, sources


def _issuance(state: DocketState) -> np.ndarray:
    """(T,) monthly chance a pursued final order of the tier ends in removal: the chance the
    travel document comes within a month at the tier's median lead time (exponential with the same
    median), times the share of decided requests not refused."""
    return np.array([(1 - 0.5 ** (DAYS_PER_MONTH / max(state.lead_times[t], 1.0))) * (1 - state.refusal[t])
                     for t in TIERS])


def _removal_hazard(state: DocketState, params: dict, overrides: dict, stock: np.ndarray) -> tuple[np.ndarray, dict]:
    """(O, B, T) monthly removal probability of a final order at today's staffing."""
    r = params["removals"]
    band_w = np.array(r["band_weights"], dtype=float)
    final = stock[..., engine.FINAL]                                # (O, B, T)
    band_share = final.sum(axis=(0, 2))
    band_share = band_share / band_share.sum() if band_share.sum() else np.full(len(BANDS), 1 / len(BANDS))
    mean_w = float((band_share * band_w).sum()) or 1.0
    band_w = band_w / mean_w
    issuance = _issuance(state)
    months = (state.window[1] - state.window[0]).days / DAYS_PER_MONTH
    removed = state.events["removed"]
    exposure = state.stage_stock[:, engine.FINAL] * months
    measured = (removed.sum() >= params["measurement"]["min_events"] and exposure.sum() > 0
                and "pursued_per_month" not in overrides.get("removals", {}))
    if measured:
        k = params["measurement"]["shrinkage_case_months"]
        office_rate = (removed + k * removed.sum() / exposure.sum()) / (exposure + k)       # (O,)
        tier_mix = final.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean_issuance = np.where(tier_mix.sum(axis=1) > 0, (tier_mix * issuance).sum(axis=1) / tier_mix.sum(axis=1),
                                     issuance[0])
        hazard = office_rate[:, None, None] * band_w[None, :, None] * issuance[None, None, :] / mean_issuance[:, None, None]
        source = f"measured: {int(removed.sum()):,} removals of docket cases in the window"
    else:
        hazard = r["pursued_per_month"] * band_w[None, :, None] * issuance[None, None, :] * np.ones((len(state.offices), 1, 1))
        source = ("scenario pursuit share" if "pursued_per_month" in overrides.get("removals", {})
                  else f"default pursuit share ({int(removed.sum())} removals in the window)")
    info = {"source": source, "band_weights": dict(zip(BANDS, np.round(band_w, 4).tolist(), strict=True)),
            "monthly_issuance_by_tier": dict(zip(TIERS, np.round(issuance, 4).tolist(), strict=True)),
            "median_lead_days_by_tier": state.lead_times, "lead_time_source": state.lead_time_source,
            "refusal_rate_by_tier": state.refusal}
    return np.clip(hazard, 0.0, 1.0), info


def _tier_maps(state: DocketState, scenario: Scenario) -> list[tuple[int, np.ndarray, object]]:
    """[(first month index, tier of each country, the change that starts it)] in month order."""
    maps = [(0, state.base_tier.copy(), None)]
    pos = {c: i for i, c in enumerate(state.countries)}
    for change in scenario.tier_changes:
        current = maps[-1][1].copy()
        current[pos[change.country]] = TIERS.index(change.tier)
        maps.append((change.month - 1, current, change))
    return maps


def build_model(state: DocketState, scenario: Scenario, months: int) -> tuple[engine.Model, dict]:
    """The engine's model of ``scenario`` over ``months``, and the parameters with their sources."""
    params = scenario.parameters()
    overrides = scenario.overrides
    counts, minutes, table = state.cells(scenario.weights, scenario.rule_set)
    n_o, n_b, n_t = len(state.offices), len(BANDS), len(TIERS)

    def by_tier(cells: np.ndarray, tier_of: np.ndarray) -> np.ndarray:
        out = np.zeros((cells.shape[0], cells.shape[1], n_t, cells.shape[3]))
        for t in range(n_t):
            out[:, :, t, :] = cells[:, :, tier_of == t, :].sum(axis=2)
        return out

    stock = by_tier(counts, state.base_tier)
    weight_minutes = by_tier(minutes, state.base_tier)
    weights = _cell_weights(stock, weight_minutes, table.fallback)

    # Tier changes: the country's share of its old tier's cases (today's composition) moves.
    changes = []
    maps = _tier_maps(state, scenario)
    pos = {c: i for i, c in enumerate(state.countries)}
    for (start, tier_of, change), (_, previous, _) in zip(maps[1:], maps[:-1], strict=True):
        if start >= months:
            continue
        c = pos[change.country]
        source, target = int(previous[c]), TIERS.index(change.tier)
        if source == target:
            continue
        tier_cases = counts[:, :, previous == source, :].sum(axis=(2, 3))
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(tier_cases > 0, counts[:, :, c, :].sum(axis=2) / np.where(tier_cases > 0, tier_cases, 1), 0.0)
        changes.append(engine.TierChange(month=start, source=source, target=target, share=share, country=change.country))

    # Inflow: last window's openings a month, with the seasonal profile and the scenario's multipliers.
    window_months = (state.window[1] - state.window[0]).days / DAYS_PER_MONTH
    starts = month_starts(state.as_of, months)
    inflow = np.zeros((months, n_o, n_b, n_t, 3))
    for i, (start, tier_of, _) in enumerate(maps):
        end = maps[i + 1][0] if i + 1 < len(maps) else months
        if start >= months:
            break
        inflow[start:end] = by_tier(state.openings, tier_of)[None] / window_months
    season = np.array([state.season[d.month - 1] for d in starts])
    multipliers = np.ones((months, n_o))
    for change in scenario.inflow:
        for o, code in enumerate(state.offices):
            for m in range(months):
                if change.applies(code, m + 1):
                    multipliers[m, o] *= change.multiplier
    inflow *= (season[:, None] * multipliers)[:, :, None, None, None]

    hires = np.zeros((months, n_o))
    office_pos = {c: i for i, c in enumerate(state.offices)}
    for hire in scenario.hires:
        if hire.month <= months:
            hires[hire.month - 1, office_pos[hire.office]] += hire.count

    rates, rate_sources = _rates(state, params, overrides)
    hazard, removal_info = _removal_hazard(state, params, overrides, stock)
    minutes_per_fte, year_value_doc = _minutes_per_fte(state, table)

    # Quotas of restricted countries (changes to or from the restricted tier adjust the annual total).
    quota_annual = sum(state.quotas.values())
    for change in scenario.tier_changes:
        if change.month <= months:
            if change.country in state.quotas and change.tier != "restricted":
                quota_annual -= state.quotas[change.country]
            if change.tier == "restricted" and change.quota is not None:
                quota_annual += change.quota - state.quotas.get(change.country, 0)
    share = params["removals"]["quota_share"]
    restricted = TIERS.index("restricted")
    quota_limited = quota_annual > 0 or any(c.tier == "restricted" for c in scenario.tier_changes)
    # A new quota year starts in the forecast month that holds the quota year's first day.
    resets = tuple(m for m, d in enumerate(starts) if d.month == state.quota_year[0].month)
    o = params["officers"]
    model = engine.Model(
        offices=tuple(state.offices), bands=BANDS, tiers=TIERS, stock=stock, inflow=inflow, rates=rates,
        removal_hazard=hazard, weights=weights, officers=state.officers.copy(), hires=hires,
        minutes_per_fte_month=minutes_per_fte, ramp_months=int(o["ramp_months"]),
        attrition_monthly=1 - (1 - float(o["attrition_per_year"])) ** (1 / 12), tier_changes=tuple(changes),
        restricted_tier=restricted if quota_limited else None,
        quota_annual=float(quota_annual * share) if quota_limited else float("inf"),
        quota_left=float(max(sum(state.quotas.values()) - state.quota_used, 0) * share) if quota_limited else float("inf"),
        quota_resets=resets,
        coverage_elasticity=float(params["removals"]["coverage_elasticity"]),
        coverage_cap=float(params["removals"]["coverage_cap"]),
        rate_sigma=float(params["uncertainty"]["rate_sigma"]), removal_sigma=float(params["uncertainty"]["removal_sigma"]),
        inflow_sigma=float(params["uncertainty"]["inflow_sigma"]),
    )
    info = {
        "as_of": state.as_of.isoformat(),
        "first_month": starts[0].isoformat() if starts else None,
        "window": {"from": state.window[0].isoformat(), "to": state.window[1].isoformat()},
        "open_cases": int(stock.sum()),
        "officers": int(state.officers.sum()),
        "inflow_per_month": round(float(state.openings.sum() / window_months), 1),
        "season_source": state.season_source,
        "rates": rate_sources,
        "removals": removal_info,
        "weights": {"kind": table.weight_set.kind, "set": table.weight_set.pk, "group_by": list(table.group_by)},
        "rule_set": scenario.rule_set,
        "year_value": year_value_doc,
        "officers_model": {"ramp_months": int(o["ramp_months"]), "attrition_per_year": o["attrition_per_year"]},
        "quota": {"annual": quota_annual if quota_limited else None, "used_this_quota_year": state.quota_used,
                  "quota_year": [d.isoformat() for d in state.quota_year]},
        "uncertainty": params["uncertainty"],
    }
    return model, info


def _cell_weights(stock: np.ndarray, minutes: np.ndarray, fallback: float) -> np.ndarray:
    """Minutes per case-month per (O, B, T, S) cell: the cell's own mean where it has cases, else
    the national mean of its (band, tier, stage), else of its stage, else the set's mean."""
    with np.errstate(divide="ignore", invalid="ignore"):
        own = minutes / stock
        national = minutes.sum(axis=0) / stock.sum(axis=0)
        by_stage = minutes.sum(axis=(0, 1, 2)) / stock.sum(axis=(0, 1, 2))
    by_stage = np.where(np.isfinite(by_stage), by_stage, fallback)
    national = np.where(np.isfinite(national), national, by_stage[None, None, :])
    return np.where(np.isfinite(own), own, national[None])


def _minutes_per_fte(state: DocketState, table) -> tuple[float, dict]:
    from caseload.staffing.services import measured_collateral, parameters, year_value

    yv = year_value(parameters(), collateral_minutes_per_officer_month=measured_collateral(table),
                    officer_ids=state.officer_ids, as_of=state.as_of)
    return yv["year_value_hours"] * 60 / 12, {k: v for k, v in yv.items() if not k.startswith("_")}


# --- Commands ---------------------------------------------------------------------------------------

def check_run(*, months: int, reps: int, executor: str, scheduler: str | None) -> None:
    if not 1 <= months <= 600:
        raise UsageError("invalid_months", f"--months must be from 1 to 600, got {months}")
    if not 1 <= reps <= 100_000:
        raise UsageError("invalid_reps", f"--reps must be from 1 to 100000, got {reps}")
    if executor not in EXECUTORS:
        raise UsageError("invalid_executor", f"--executor must be local or dask, got {executor!r}")
    if scheduler and executor != "dask":
        raise UsageError("scheduler_needs_dask", "--scheduler is used with --executor dask only")


def _scenario_doc(scenario: Scenario) -> dict:
    return {"id": scenario.id, "title": scenario.title, "file": scenario.file or None}


def simulate(state: DocketState, scenario: Scenario, *, months: int, reps: int, seed: int, executor: str = "local",
             scheduler: str | None = None, progress: Callable[[int], None] | None = None) -> tuple[engine.Result, dict]:
    model, info = build_model(state, scenario, months)
    try:
        result = engine.simulate(model, reps=reps, seed=seed, executor=executor, scheduler=scheduler, progress=progress)
    except OSError as exc:  # a scheduler address that does not answer
        raise UsageError("scheduler_unreachable", f"cannot reach the dask scheduler {scheduler}: {exc}") from None
    return result, info


def run_forecast(*, months: int = 60, reps: int = 1000, seed: int = 1, scenario: str | Path | None = None,
                 executor: str = "local", scheduler: str | None = None,
                 progress: Callable[[int], None] | None = None, state: DocketState | None = None) -> dict:
    """``caseload forecast run``: monthly p10/p50/p90 nationally and per office."""
    started = time.perf_counter()
    check_run(months=months, reps=reps, executor=executor, scheduler=scheduler)
    sc = load_scenario(scenario)
    state = state or read_docket()
    result, info = simulate(state, sc, months=months, reps=reps, seed=seed, executor=executor, scheduler=scheduler,
                            progress=progress)
    summary = engine.summarise(result)
    return {"months": months, "reps": reps, "seed": seed, "scenario": _scenario_doc(sc), "executor": executor,
            "parameters": info, "national": summary["national"], "by_office": summary["by_office"],
            "seconds": round(time.perf_counter() - started, 3)}


COMPARED = ("open_cases", "final_orders", "removals", "cases_per_officer", "capacity_pct", "fte_need", "overdue_hours")


def compare_forecasts(scenarios: Sequence[str], *, months: int = 60, reps: int = 1000, seed: int = 1,
                      executor: str = "local", scheduler: str | None = None,
                      progress: Callable[[int], None] | None = None) -> dict:
    """``caseload forecast compare``: both scenarios on one read of the docket with the same seed;
    per month the p50 of each and the difference (B - A), nationally and per office."""
    started = time.perf_counter()
    if len(scenarios) != 2:
        raise UsageError("two_scenarios_needed", "give exactly two scenarios: --scenario A --scenario B "
                                                 "(a file, or 'baseline' for no changes)")
    check_run(months=months, reps=reps, executor=executor, scheduler=scheduler)
    loaded = [load_scenario(s) for s in scenarios]
    state = read_docket()
    summaries = []
    for sc in loaded:
        result, _ = simulate(state, sc, months=months, reps=reps, seed=seed, executor=executor, scheduler=scheduler,
                             progress=progress)
        summaries.append(engine.summarise(result))

    def diff_rows(a_rows: list[dict], b_rows: list[dict]) -> list[dict]:
        out = []
        for ra, rb in zip(a_rows, b_rows, strict=True):
            row = {"month": ra["month"]}
            for name in COMPARED:
                va, vb = ra[name]["p50"], rb[name]["p50"]
                row[name] = {"a": va, "b": vb,
                             "difference": None if va is None or vb is None else round(vb - va, 1)}
            out.append(row)
        return out

    a, b = summaries
    return {"months": months, "reps": reps, "seed": seed,
            "scenarios": [_scenario_doc(sc) for sc in loaded],
            "national": diff_rows(a["national"], b["national"]),
            "by_office": [{"office": oa["office"], "months": diff_rows(oa["months"], ob["months"])}
                          for oa, ob in zip(a["by_office"], b["by_office"], strict=True)],
            "seconds": round(time.perf_counter() - started, 3)}


def horizon_docket(horizon_months: int, *, scenario: str | Path | Scenario | None = None, reps: int = 200, seed: int = 1,
                   state: DocketState | None = None) -> dict:
    """The forecast's p50 at the horizon per office: open cases, workload minutes a month and
    officers (FTE) — what ``caseload staffing plan --horizon-months N`` plans against."""
    check_run(months=horizon_months, reps=reps, executor="local", scheduler=None)
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    state = state or read_docket()
    result, info = simulate(state, sc, months=horizon_months, reps=reps, seed=seed)
    f = result.figures
    at = horizon_months - 1
    p50 = {name: np.percentile(f[name][:, at, :], 50, axis=0) for name in ("open_cases", "workload_minutes", "fte")}
    return {
        "horizon_months": horizon_months,
        "month": month_starts(state.as_of, horizon_months)[-1].isoformat(),
        "scenario": _scenario_doc(sc), "reps": reps, "seed": seed,
        "minutes_per_fte_month": result.model.minutes_per_fte_month,
        "offices": {code: {"cases": int(round(p50["open_cases"][i])), "workload_minutes": float(p50["workload_minutes"][i]),
                           "officers": round(float(p50["fte"][i]), 1)}
                    for i, code in enumerate(state.offices)},
        "parameters": info,
    }


def add_horizon(today: dict, horizon_months: int, *, scenario: str | Path | None = None, hires: int | None = None,
                weights_kind: str | None = None, max_hires_per_office: int | None = None) -> dict:
    """Today's staffing plan (``today``, from ``staffing_plan``) with the need at the horizon
    added: the forecast's p50 workload and officers per office, FTE need and gap then, and, with
    ``hires``, their allocation against the horizon's need (forecast -> workload -> FTE need ->
    hires), at most ``max_hires_per_office`` an office. The forecast uses the plan's weights."""
    import dataclasses

    from caseload.staffing import hiring

    sc = load_scenario(scenario)
    if weights_kind:
        sc = dataclasses.replace(sc, weights=weights_kind)
    horizon = horizon_docket(horizon_months, scenario=sc)
    yv_hours = today["year_value_hours"]
    codes = [r["office"] for r in today["offices"]]
    need = np.array([horizon["offices"].get(c, {}).get("workload_minutes", 0.0) * 12 / 60 / yv_hours for c in codes])
    board = np.array([horizon["offices"].get(c, {}).get("officers", 0.0) for c in codes])
    upper = None if max_hires_per_office is None else np.full(len(codes), max_hires_per_office, dtype=np.int64)
    allocation = (hiring.allocate(need, board, hires, max_per_office=upper).hires if hires
                  else np.zeros(len(codes), dtype=np.int64))
    rows = []
    for i, code in enumerate(codes):
        h = horizon["offices"].get(code, {})
        rows.append({"office": code, "cases": h.get("cases", 0), "fte_need": round(float(need[i]), 2),
                     "officers": round(float(board[i]), 1), "gap": round(float(need[i] - board[i]), 2),
                     "hires": int(allocation[i])})
    return {**today, "horizon": {
        "months": horizon_months, "month": horizon["month"], "scenario": horizon["scenario"],
        "basis": "p50 of the forecast at the horizon", "reps": horizon["reps"], "seed": horizon["seed"],
        "national": {"cases": int(sum(r["cases"] for r in rows)), "fte_need": round(float(need.sum()), 2),
                     "officers": round(float(board.sum()), 1), "gap": round(float((need - board).sum()), 2),
                     "hires": int(allocation.sum())},
        "offices": rows}}
