"""Services for countries: reference data, versioned cooperation tiers, the cooperation report.

The report (``caseload countries report``) is set-based: a handful of grouped SQL queries over
cases and travel-document requests, and one NumPy pass for the medians (docs/countries.md).
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pycountry
from django.db import connection, transaction
from django.db.models import Count, Func, IntegerField, Q

from caseload.core import audit, clock
from caseload.core.errors import Conflict, NotFound, UsageError
from caseload.countries import config as cfgmod
from caseload.countries.models import (
    ISSUED_STATUSES,
    CooperationTier,
    CooperationTierChange,
    Country,
    TravelDocumentRequest,
    TravelDocumentStatus,
)
from caseload.countries.names import to_alpha2
from caseload.countries.rules import label_of, require
from caseload.countries.stats import grouped_percentiles, round_or_none

_TIERS_FILE = Path(__file__).with_name("data") / "cooperation.toml"
COOPERATIVE_BASELINE_SOURCE = ("not listed as uncooperative, delayed or restricted in the reference lists "
                               "(cooperation.toml; counts per OIG-17-51)")


ESTIMATE_MARK = "Estimate: "


def is_estimate(source: str) -> bool:
    """A tier or quota the reference data could not source (docs/countries.md, "Reference tiers")."""
    return source.startswith(ESTIMATE_MARK) or "is an estimate" in source


def tier_assignments() -> list[tuple[dt.date, dict[str, tuple[str, str, int | None]]]]:
    """From ``data/cooperation.toml``, in date order: (effective date, {alpha2: (tier, source, quota)}).

    Every membership carries its block's source; an ``estimate`` block's sources start with
    :data:`ESTIMATE_MARK`, an estimated quota says so after the source."""
    with _TIERS_FILE.open("rb") as fh:
        data = tomllib.load(fh)
    by_date: dict[dt.date, dict[str, tuple[str, str, int | None]]] = {}
    for block in data["block"]:
        tier = block["tier"]
        if tier not in CooperationTier.values:
            raise ValueError(f"cooperation.toml: unknown tier {tier!r}")
        source = (ESTIMATE_MARK if block.get("estimate") else "") + block["source"]
        day = block["effective_on"]
        entries = by_date.setdefault(day, {})
        for code in block.get("countries", []):
            entries[code] = (tier, source, None)
        for code, quota in block.get("quotas", {}).items():
            note = f"; the yearly quota of {quota} is an estimate" if block.get("quota_estimate") else ""
            entries[code] = (tier, source + note, quota)
    return sorted(by_date.items())


def load_countries() -> int:
    """Create every ISO 3166-1 country; record the reference tiers as dated history: the first
    list for every country (the cooperative ones too, so a tier is known for any date from the
    reference date on), each later list for the countries it names.

    A new country takes the latest reference tier; an existing one whose tier was changed after
    the latest reference date (a newer history row) keeps its current tier.
    """
    lists = tier_assignments()
    current: dict[str, tuple[str, str, int | None]] = {}
    for _, entries in lists:
        current.update(entries)
    existing = set(Country.objects.values_list("code", flat=True))
    new = []
    for c in pycountry.countries:
        if c.alpha_2 not in existing:
            tier, _, quota = current.get(c.alpha_2, (CooperationTier.COOPERATIVE, "", None))
            new.append(Country(code=c.alpha_2, alpha3=c.alpha_3, name=getattr(c, "common_name", c.name),
                               cooperation_tier=tier, annual_document_quota=quota))
    Country.objects.bulk_create(new)
    known = existing | {c.code for c in new}
    for i, (effective_on, entries) in enumerate(lists):
        have_history = set(CooperationTierChange.objects.filter(effective_on=effective_on).values_list("country_id", flat=True))
        codes = known if i == 0 else set(entries) & known
        CooperationTierChange.objects.bulk_create(
            CooperationTierChange(country_id=code, tier=tier, annual_document_quota=quota, effective_on=effective_on,
                                  source=source, recorded_at=clock.now(), recorded_by="reference data")
            for code in sorted(codes - have_history)
            for tier, source, quota in [entries.get(code, (CooperationTier.COOPERATIVE, COOPERATIVE_BASELINE_SOURCE, None))]
        )
    return Country.objects.count()


def tiers_by_code() -> dict[str, str]:
    return dict(Country.objects.values_list("code", "cooperation_tier"))


def access_country(value: str) -> Country:
    """A country by ISO alpha-2 code, alpha-3 code or name (as the extracts write it)."""
    text = (value or "").strip()
    code = text.upper() if len(text) == 2 else None
    if code is None and len(text) == 3 and (c := pycountry.countries.get(alpha_3=text.upper())):
        code = c.alpha_2
    code = code or to_alpha2(text)
    country = Country.objects.filter(code=code).first() if code else None
    if country is None:
        raise NotFound("unknown_country", f"no country {value!r} (use an ISO 3166 code such as HT, or a name)")
    return country


# --- Versioned tiers ---------------------------------------------------------------------------

@dataclass(frozen=True)
class TierAsOf:
    tier: str
    quota: int | None
    effective_on: dt.date | None
    source: str


def tiers_as_of(day: dt.date, codes: list[str] | None = None) -> dict[str, TierAsOf]:
    """Each country's tier and quota in force on ``day``: its latest history row on or before
    that day; before its first row, the first row (the earliest knowledge); with no history,
    the country's current fields."""
    history = CooperationTierChange.objects.order_by("country_id", "effective_on", "id")
    countries = Country.objects.all()
    if codes is not None:
        history, countries = history.filter(country_id__in=codes), countries.filter(code__in=codes)
    out: dict[str, TierAsOf] = {
        code: TierAsOf(tier, quota, None, "")
        for code, tier, quota in countries.values_list("code", "cooperation_tier", "annual_document_quota")
    }
    seen: set[str] = set()
    for code, tier, quota, effective_on, source in history.values_list(
            "country_id", "tier", "annual_document_quota", "effective_on", "source"):
        if effective_on <= day or code not in seen:
            out[code] = TierAsOf(tier, quota, effective_on, source)
        seen.add(code)
    return out


def tier_history(country: Country) -> list[dict]:
    return [
        {"tier": tier, "annual_document_quota": quota, "effective_on": effective_on.isoformat(), "source": source,
         "recorded_at": recorded_at.isoformat(), "recorded_by": recorded_by}
        for tier, quota, effective_on, source, recorded_at, recorded_by in country.tier_history.order_by(
            "effective_on", "id").values_list("tier", "annual_document_quota", "effective_on", "source", "recorded_at",
                                              "recorded_by")
    ]


def check_tier_change(*, tier: str, quota: int | None, source: str) -> None:
    if tier not in CooperationTier.values:
        raise UsageError("invalid_tier", f"tier must be one of {', '.join(CooperationTier.values)}, got {tier!r}")
    if not source.strip():
        raise UsageError("source_required", "a tier change needs its source (the document that sets it)")
    if quota is not None and quota < 0:
        raise UsageError("invalid_quota", f"the annual quota must be 0 or more, got {quota}")
    if tier == CooperationTier.RESTRICTED and quota is None:
        raise UsageError("quota_required", "a restricted tier needs the annual quota (--quota N)")


def do_set_tier(*, country: Country, tier: str, effective_on: dt.date, source: str, quota: int | None = None,
                actor=None, actor_label: str | None = None) -> CooperationTierChange:
    """Record a tier (and quota) in force from ``effective_on``; the history keeps every version.

    The country's current fields follow the history row in force today, so a change dated in
    the future takes effect in reports from its date on.
    """
    require(actor, "countries.set_tier")
    check_tier_change(tier=tier, quota=quota, source=source)
    label = label_of(actor, actor_label)
    with transaction.atomic():
        if CooperationTierChange.objects.filter(country=country, effective_on=effective_on).exists():
            raise Conflict("tier_change_exists",
                           f"{country.code} already has a tier change effective {effective_on}; choose another date")
        change = CooperationTierChange.objects.create(
            country=country, tier=tier, annual_document_quota=quota, effective_on=effective_on, source=source.strip(),
            recorded_at=clock.now(), recorded_by=label)
        current = tiers_as_of(clock.today(), [country.code])[country.code]
        Country.objects.filter(pk=country.pk).update(cooperation_tier=current.tier, annual_document_quota=current.quota)
        audit.record(action="countries.tier_changed", actor=actor, actor_label=label, object_type="countries.country",
                     object_id=country.code, details={"tier": tier, "annual_document_quota": quota,
                                                      "effective_on": effective_on.isoformat(), "source": source.strip()})
    country.refresh_from_db()
    return change


# --- The cooperation report --------------------------------------------------------------------

REPORT_KEYS = ("country", "tier", "tier_source", "tier_effective_on", "tier_estimate", "suggested_tier",
               "suggested_tier_held_back", "open_final_orders", "pending_requests", "median_days_to_issue",
               "refusal_rate", "pending_over_90_days", "quota_remaining")


def pending_on(day: dt.date) -> Q:
    """Requests pending on ``day`` (with ``requested_on <= day``): neither decided nor closed by then."""
    return (Q(decided_on__isnull=True) | Q(decided_on__gt=day)) & (Q(closed_on__isnull=True) | Q(closed_on__gt=day))


def report(*, as_of: dt.date | None = None, only: list[str] | None = None) -> list[dict]:
    """One row per country with open final orders, travel-document requests, or a tier other
    than cooperative (or the countries in ``only``); see docs/countries.md for each figure."""
    as_of = as_of or clock.today()
    cfg = cfgmod.config()
    window_start = as_of - dt.timedelta(days=cfg.window_days)
    stalled_before = as_of - dt.timedelta(days=cfg.stalled_after_days)
    quota_start, _ = cfg.quota_year(as_of)

    requests = TravelDocumentRequest.objects.filter(requested_on__lte=as_of)
    if only is not None:
        requests = requests.filter(country__in=only)
    final_orders = open_final_orders_by_country(as_of, only)

    pending = pending_on(as_of)
    issued = Q(status__in=ISSUED_STATUSES, decided_on__lte=as_of)
    figures = {
        row["country_id"]: row for row in requests.values("country_id").annotate(
            pending=Count("id", filter=pending),
            stalled=Count("id", filter=pending & Q(requested_on__lt=stalled_before)),
            issued_window=Count("id", filter=issued & Q(decided_on__gte=window_start)),
            refused_window=Count("id", filter=Q(status=TravelDocumentStatus.REFUSED, decided_on__lte=as_of,
                                                decided_on__gte=window_start)),
            issued_quota_year=Count("id", filter=issued & Q(decided_on__gte=quota_start)),
        )
    }
    medians = _median_days_to_issue(requests.filter(issued, decided_on__gte=window_start))
    tiers = tiers_as_of(as_of, only)
    codes = set(final_orders) | set(figures) | {c for c, t in tiers.items() if t.tier != CooperationTier.COOPERATIVE}
    if only is not None:
        codes = set(only)
    rows = []
    for code in codes:
        f = figures.get(code, {})
        tier = tiers.get(code)
        decided = f.get("issued_window", 0) + f.get("refused_window", 0)
        n_pending, stalled = f.get("pending", 0), f.get("stalled", 0)
        refusal_rate = round(f["refused_window"] / decided, 3) if decided else None
        median = medians.get(code)
        quota = tier.quota if tier else None
        suggested = cfgmod.suggest_tier(
            refusal_rate=refusal_rate, median_days_to_issue=median,
            pending_over_90_share=stalled / n_pending if n_pending else None,
            decisions=decided, pending=n_pending, has_quota=quota is not None, cfg=cfg)
        source = tier.source if tier else ""
        rows.append({
            "country": code,
            "tier": tier.tier if tier else CooperationTier.COOPERATIVE,
            "tier_source": source,
            "tier_effective_on": tier.effective_on.isoformat() if tier and tier.effective_on else None,
            "tier_estimate": is_estimate(source),
            "suggested_tier": suggested,
            "suggested_tier_held_back": None if suggested else cfgmod.held_back(decisions=decided, pending=n_pending, cfg=cfg),
            "open_final_orders": final_orders.get(code, 0),
            "pending_requests": n_pending,
            "median_days_to_issue": median,
            "refusal_rate": refusal_rate,
            "pending_over_90_days": stalled,
            "quota_remaining": max(0, quota - f.get("issued_quota_year", 0)) if quota is not None else None,
        })
    rows.sort(key=lambda r: (-r["open_final_orders"], -r["pending_requests"], r["country"]))
    return rows


def open_final_orders_by_country(as_of: dt.date, only: list[str] | None = None) -> dict[str, int]:
    """Open final-order cases (final order on or before ``as_of``) by the person's citizenship.

    Hand-written SQL so that on SQLite the join is one sequential scan of the cases with a
    primary-key lookup of each final order's person: ``CROSS JOIN`` fixes the order (the
    planner otherwise walks every person and probes cases by person) and ``NOT INDEXED`` keeps
    it off indexes led by ``status`` (nearly every case is open, and such an index walk fetches
    each row by id: several times slower at scale 1.0). PostgreSQL plans the plain join well.
    """
    from caseload.docket.models import Case, CaseStatus, Person, Stage

    if only == []:
        return {}
    scan, join = ("NOT INDEXED", "CROSS JOIN") if connection.vendor == "sqlite" else ("", "JOIN")
    params: list = [CaseStatus.OPEN.value, Stage.FINAL_ORDER.value, connection.ops.adapt_datefield_value(as_of)]
    only_sql = ""
    if only is not None:
        only_sql = f" AND p.citizenship IN ({', '.join(['%s'] * len(only))})"
        params += list(only)
    sql = (f"SELECT p.citizenship, COUNT(*) FROM {Case._meta.db_table} c {scan} {join} {Person._meta.db_table} p "
           f"ON p.id = c.person_id WHERE c.status = %s AND c.stage = %s AND c.final_order_date <= %s{only_sql} "
           f"GROUP BY p.citizenship")
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return dict(cur.fetchall())


class DaysBetween(Func):
    """Whole days from the second date expression to the first (``end - start``), in SQL."""

    arity = 2
    output_field = IntegerField()
    template = "(%(expressions)s)"
    arg_joiner = " - "  # PostgreSQL: date - date is an integer

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="CAST(julianday(%(expressions)s) AS INTEGER)",
                           arg_joiner=") - julianday(", **extra)


def _median_days_to_issue(issued_requests) -> dict[str, float]:
    rows = list(issued_requests.values_list("country_id", DaysBetween("decided_on", "requested_on")))
    if not rows:
        return {}
    countries, days = zip(*rows, strict=True)
    groups, _, pct = grouped_percentiles(np.array(countries, dtype=str), np.array(days, dtype=float), (50,))
    return {g: round_or_none(p[0]) for g, p in zip(groups.tolist(), pct, strict=True)}
