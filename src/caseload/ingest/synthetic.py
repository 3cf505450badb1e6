"""The synthetic national docket: pure NumPy, no Django.

Given the calibration file, the FOIA aggregate table and the reference data (office ids,
country tiers), :func:`plan` sizes each office and :func:`generate_office` draws one office's
people, convictions, cases, check-ins, time-log entries and travel-document requests as column
arrays. Every office has its own random stream (``seed``, office index), so the output for a
seed does not depend on the order in which offices are written.

The generator also knows the "true" case weights (expected officer minutes per case-month
for each case type) it used; :class:`TrueWeights` accumulates them so a workload study can be
tested against them. See docs/synthetic-docket.md.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from caseload.docket.tasks import load_rules

DATA_DIR = Path(__file__).with_name("data")
DAYS_PER_MONTH = 365.25 / 12
LATIN_AMERICA = frozenset(
    "MX GT HN SV NI CR PA CU DO PR CO VE EC PE BO CL AR UY PY".split()
)
# Tables in load order (parents first) and their columns, as written by generate_office.
COLUMNS: dict[str, tuple[str, ...]] = {
    "offices_officer": ("id", "office_id", "unit", "first_name", "last_name", "status", "weekly_hours",
                        "entered_on_duty", "user_id", "open_cases"),
    "docket_person": ("id", "a_number", "first_name", "last_name", "birth_date", "gender", "citizenship",
                      "entry_date", "entry_manner", "last_apprehension_date", "apprehension_place",
                      "national_security_flag", "gang_flag", "citizenship_claim", "pending_criminal_charges",
                      "pending_charges_filed_on", "visa_fraud_finding", "public_benefits_abuse", "office_id"),
    "docket_conviction": ("id", "person_id", "office_id", "convicted_on", "offense_category", "severity",
                          "aggravated_felony", "sentence_days", "custody_days", "incident_id"),
    "docket_case": ("id", "person_id", "office_id", "unit", "officer_id", "supervision_type", "stage",
                    "proceedings_started_on", "stage_changed_on", "final_order_date", "appeal_pending",
                    "appeal_filed_on", "stay_of_removal_until", "reporting_cadence_days", "next_report_due",
                    "last_contact_on", "priority", "priority_rank", "priority_rule_set", "status", "opened_on", "closed_on", "close_reason", "version",
                    "warning_served_on", "custody_reviewed_on", "custody_review_count", "ns_reviewed_on", "td_followed_up_on"),
    "docket_checkin": ("id", "case_id", "office_id", "officer_id", "scheduled_for", "occurred_at", "outcome",
                       "method", "records_check", "records_check_detail"),
    "workload_timelogentry": ("id", "officer_id", "office_id", "case_id", "activity", "started_at", "minutes"),
    "countries_traveldocumentrequest": ("id", "case_id", "office_id", "country_id", "requested_on", "status",
                                        "decided_on", "expires_on", "refusal_reason"),
}
TABLES = tuple(COLUMNS)

# Affine permutation of the 9-digit space: distinct ids map to distinct A-numbers.
_A_BASE, _A_SPAN, _A_MULT, _A_OFFSET = 100_000_000, 900_000_000, 982_451_653, 271_828_183


def load_toml(name: str) -> dict:
    with (DATA_DIR / name).open("rb") as fh:
        return tomllib.load(fh)


def load_aggregates() -> dict:
    return json.loads((DATA_DIR / "foia_aggregates.json").read_text())


@dataclass(frozen=True)
class ActivitySpec:
    mean_minutes: float
    sigma: float
    collateral: bool


@dataclass(frozen=True)
class OffenseSpec:
    code: str
    weight: float
    felony_share: float
    aggravated_share: float


@dataclass
class Inputs:
    scale: float
    seed: int
    as_of: dt.date
    offices: list[tuple[int, str]]          # (database id, code), in a fixed order
    country_tiers: Mapping[str, str]        # alpha-2 -> cooperation tier, for every known country
    activities: Mapping[str, ActivitySpec]
    offenses: list[OffenseSpec]
    calibration: dict = field(default_factory=lambda: load_toml("calibration.toml"))
    country_quotas: Mapping[str, int] = field(default_factory=dict)  # alpha-2 -> national documents a year
    aggregates: dict = field(default_factory=load_aggregates)


@dataclass(frozen=True)
class OfficePlan:
    index: int
    office_id: int
    code: str
    cases: int
    officers: int
    cases_at_full_scale: int
    officers_at_full_scale: int


def _largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to ``weights`` that add up to exactly ``total``."""
    exact = total * weights / weights.sum()
    floor = np.floor(exact).astype(np.int64)
    short = total - int(floor.sum())
    order = np.argsort(-(exact - floor), kind="stable")
    floor[order[:short]] += 1
    return floor


def _office_counts(aggregates: dict, kind: str, codes: list[str]) -> np.ndarray:
    by_office = aggregates["files"][kind]["by_office"]
    return np.array([by_office.get(c, 0) for c in codes], dtype=float)


def plan(inputs: Inputs) -> list[OfficePlan]:
    """Size each office: cases from the FOIA docket mix, officers from the staffing calibration.

    Offices with a cited caseload (``pinned_cases_per_officer``: Washington, Atlanta) get
    round(share / caseload) officers and exactly officers x caseload cases at full scale; the
    remaining cases are shared among the other offices by their FOIA weights. Other offices'
    officers follow a blend of docket and removals shares. Smaller scales shrink every office
    in proportion (officers rounded, at least one per office).
    """
    cal, agg = inputs.calibration, inputs.aggregates
    codes = [code for _, code in inputs.offices]
    docket = _office_counts(agg, "arrests", codes) + _office_counts(agg, "encounters", codes)
    removals = _office_counts(agg, "removals", codes)
    if docket.sum() <= 0:
        raise ValueError("the FOIA aggregate table has no arrests or encounters for these offices")
    total = cal["docket"]["open_cases"]
    off = cal["officers"]
    pinned = off["pinned_cases_per_officer"]
    free = np.array([c not in pinned for c in codes])
    full_cases = _largest_remainder(total, docket)
    full_officers = np.zeros(len(codes), dtype=np.int64)
    for i, code in enumerate(codes):
        if code in pinned:
            full_officers[i] = max(1, round(full_cases[i] / pinned[code]))
            full_cases[i] = full_officers[i] * pinned[code]
    full_cases[free] = _largest_remainder(total - int(full_cases[~free].sum()), docket[free])
    rest = off["non_detained_total"] - int(full_officers.sum())
    blend = off["docket_weight"] * docket / docket.sum() + off["removals_weight"] * removals / max(removals.sum(), 1)
    full_officers[free] = np.maximum(1, _largest_remainder(rest, blend[free]))
    cases = _largest_remainder(max(1, round(total * inputs.scale)), full_cases.astype(float))
    return [
        OfficePlan(i, office_id, code, int(cases[i]), max(1, round(full_officers[i] * inputs.scale)),
                   int(full_cases[i]), int(full_officers[i]))
        for i, (office_id, code) in enumerate(inputs.offices)
    ]


def load_ratio(inputs: Inputs, plans: list[OfficePlan]) -> np.ndarray:
    """Per office, required case minutes ÷ available minutes (the office's capacity % / 100).

    Required minutes use the full rates of :func:`_case_rates`; available minutes are the
    officers' productive hours less their collateral duties. Computed on the full-scale plan so
    the ratio does not depend on the scale (small scales would otherwise round officers up).
    """
    cal = inputs.calibration
    collateral = sum(rate * inputs.activities[a].mean_minutes for a, rate in cal["collateral_per_officer_month"].items())
    available_per_officer = cal["capacity"]["productive_hours_per_year"] * 60 / 12 - collateral
    mix = _national_type_mix(inputs)
    required_per_case = sum(share * _expected_minutes(inputs, sup, stage, full=False) for (sup, stage), share in mix.items())
    return np.array([p.cases_at_full_scale * required_per_case / (p.officers_at_full_scale * available_per_officer)
                     for p in plans])


def capacity_factor(inputs: Inputs, plans: list[OfficePlan]) -> np.ndarray:
    """Per office, the share of required case work its officers can do: min(1, available / required)."""
    return np.minimum(1.0, 1.0 / np.maximum(load_ratio(inputs, plans), 1e-9))


def records_check_shares(inputs: Inputs, factor: float) -> tuple[float, float]:
    """Share of attended check-ins whose records check is run (in person, ATD) in an office that
    can do ``factor`` of its required work: the share at capacity × factor ** exponent
    (docs/synthetic-docket.md, "Work under load")."""
    load = inputs.calibration["load"]
    scale = factor ** load["records_check_exponent"]
    return load["records_check_share_at_capacity"] * scale, load["records_check_share_atd_at_capacity"] * scale


def _stage_shares(cal: dict) -> tuple[float, float]:
    d = cal["docket"]
    return d["final_orders"] / d["open_cases"], d["appeal_share"]


def _national_type_mix(inputs: Inputs) -> dict[tuple[str, str], float]:
    cal = inputs.calibration
    final_share, appeal_share = _stage_shares(cal)
    mix: dict[tuple[str, str], float] = {}
    for stage, share, group in (("final_order", final_share, "final_order"), ("appeal", appeal_share, "pending"),
                                ("pending", 1 - final_share - appeal_share, "pending")):
        for sup, s in cal["supervision"][group].items():
            mix[(sup, stage)] = mix.get((sup, stage), 0.0) + share * s
    return mix


def _case_rates(inputs: Inputs, supervision: str, stage: str) -> dict[str, float]:
    """Full-capacity event rates per case-month for one case type (before the office factor)."""
    cal = inputs.calibration
    rates = {"check_in_event": DAYS_PER_MONTH / cal["cadence_days"][supervision]}
    rates.update({a: float(r) for a, r in cal["activity_rates"].items() if not isinstance(r, dict)})
    if stage == "final_order":
        rates.update({a: float(r) for a, r in cal["activity_rates"]["final_order"].items()})
    return rates


def _expected_minutes(inputs: Inputs, supervision: str, stage: str, *, full: bool,
                      records_check: tuple[float, float] | None = None) -> float:
    """Expected officer minutes per case-month at full capacity.

    ``full=False`` is practice as measured ("what is": records checks often skipped; the national
    shares, or ``records_check`` = (in person, ATD) shares of one office); ``full=True`` is practice
    as required ("what should be": a records check at every check-in).
    """
    cal, act = inputs.calibration, inputs.activities
    ci = cal["checkins"]
    rates = _case_rates(inputs, supervision, stage)
    atd = supervision == "atd"
    interview = act["atd_review" if atd else "check_in"].mean_minutes
    if full:
        rc_share = 1.0
    elif records_check is not None:
        rc_share = records_check[1 if atd else 0]
    else:
        rc_share = ci["records_check_share_atd" if atd else "records_check_share"]
    minutes = rates.pop("check_in_event") * ci["appear_share"] * (interview + rc_share * act["records_check"].mean_minutes)
    return minutes + sum(rate * act[a].mean_minutes for a, rate in rates.items())


class TrueWeights:
    """Accumulates the generator's expected minutes and case-months per case type."""

    def __init__(self) -> None:
        self.minutes: dict[str, float] = {}
        self.should_be: dict[str, float] = {}
        self.case_months: dict[str, float] = {}

    def add(self, case_type: str, case_months: float, expected_minutes: float, should_be_per_month: float) -> None:
        self.minutes[case_type] = self.minutes.get(case_type, 0.0) + expected_minutes
        self.case_months[case_type] = self.case_months.get(case_type, 0.0) + case_months
        self.should_be[case_type] = should_be_per_month

    def as_dict(self, *, as_of: dt.date, seed: int, scale: float, months: int) -> dict:
        types = sorted(self.case_months)
        return {
            "description": "expected officer minutes per case-month by case type (supervision_type/stage), "
                           "as drawn by the generator; 'should_be' is the same work at full capacity "
                           "with a records check at every check-in",
            "as_of": as_of.isoformat(),
            "period": {"from": (as_of - dt.timedelta(days=round(months * DAYS_PER_MONTH))).isoformat(), "to": as_of.isoformat()},
            "seed": seed,
            "scale": scale,
            "weights": [
                {
                    "case_type": t,
                    "minutes_per_case_month": self.minutes[t] / self.case_months[t] if self.case_months[t] else 0.0,
                    "should_be_minutes_per_case_month": self.should_be[t],
                    "case_months": self.case_months[t],
                }
                for t in types
            ],
        }


@dataclass
class NamePools:
    hispanic_first_m: np.ndarray
    hispanic_first_f: np.ndarray
    hispanic_last: np.ndarray
    other_first_m: np.ndarray
    other_first_f: np.ndarray
    other_last: np.ndarray

    @classmethod
    def build(cls, seed: int, size: int = 1500) -> NamePools:
        from faker import Faker

        hispanic = Faker(["es_MX", "es_CO", "es_ES"])  # building one loads every provider of its locales
        other = Faker(["en_US", "fr_FR", "pt_BR", "en_IN", "en_GB", "de_DE"])

        def pool(fake: Faker, method: str) -> np.ndarray:
            fake.seed_instance(seed)  # new generators: the same draws as a new instance
            return np.array(sorted({getattr(fake, method)() for _ in range(size)}), dtype=object)

        return cls(
            pool(hispanic, "first_name_male"), pool(hispanic, "first_name_female"), pool(hispanic, "last_name"),
            pool(other, "first_name_male"), pool(other, "first_name_female"), pool(other, "last_name"),
        )


def a_numbers(ids: np.ndarray) -> np.ndarray:
    """Distinct nine-digit A-numbers for distinct positive ids (an affine permutation)."""
    values = _A_BASE + (ids.astype(np.int64) * _A_MULT + _A_OFFSET) % _A_SPAN
    return np.char.zfill(values.astype(str), 9).astype(object)


def _dates(values: np.ndarray) -> np.ndarray:
    """datetime64[D] (NaT allowed) -> object array of 'YYYY-MM-DD' or None."""
    out = np.datetime_as_string(values, unit="D").astype(object)
    out[np.isnat(values)] = None
    return out


def _datetimes(values: np.ndarray) -> np.ndarray:
    """datetime64[s] -> 'YYYY-MM-DD HH:MM:SS' (UTC), the form Django stores on both backends."""
    text = np.datetime_as_string(values, unit="s")
    return np.char.replace(text, "T", " ").astype(object)


def _lognormal_minutes(rng: np.random.Generator, mean: float, sigma: float, n: int) -> np.ndarray:
    mu = math.log(mean) - sigma**2 / 2
    return np.clip(np.rint(rng.lognormal(mu, sigma, n)), 1, 1440).astype(np.int64)


def _uniform_days(rng: np.random.Generator, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """A uniform day in [start, end) per element (start where the span is empty)."""
    span = np.maximum((end - start).astype(np.int64), 1)
    return start + (rng.random(len(span)) * span).astype(np.int64).astype("timedelta64[D]")


@dataclass
class IdCounters:
    officer: int = 0
    person: int = 0
    conviction: int = 0
    checkin: int = 0
    timelog: int = 0
    travel_document: int = 0

    def take(self, name: str, n: int) -> np.ndarray:
        start = getattr(self, name)
        setattr(self, name, start + n)
        return np.arange(start + 1, start + n + 1, dtype=np.int64)


OfficeBatch = dict[str, dict[str, np.ndarray]]


def generate_office(inputs: Inputs, p: OfficePlan, factor: float, ids: IdCounters, names: NamePools,
                    weights: TrueWeights, quotas: Mapping[str, int] | None = None) -> OfficeBatch:
    """Draw one office's rows. Returns {table: {column: array}} in COLUMNS order."""
    cal = inputs.calibration
    rng = np.random.default_rng([inputs.seed, p.index])
    as_of = np.datetime64(inputs.as_of, "D")
    months = cal["checkins"]["months_of_history"]
    window_start = as_of - np.timedelta64(round(months * DAYS_PER_MONTH), "D")
    n = p.cases
    batch: OfficeBatch = {}

    # Officers.
    officer_ids = ids.take("officer", p.officers)
    u = rng.random(p.officers)
    off_cal = cal["officers"]
    status = np.where(u < off_cal["leave_share"], "leave",
                      np.where(u < off_cal["leave_share"] + off_cal["detail_share"], "detail", "active")).astype(object)
    if not (status == "active").any():
        status[0] = "active"
    gender_o = rng.random(p.officers) < 0.5
    load = rng.dirichlet(np.full(p.officers, off_cal["load_concentration"]))

    # People.
    person_ids = ids.take("person", n)
    country_codes, country_weights = _citizenship_mix(inputs, p.code)
    citizenship = country_codes[rng.choice(len(country_codes), size=n, p=country_weights)]
    male = rng.random(n) < cal["people"]["male_share"]
    hispanic = np.isin(citizenship, list(LATIN_AMERICA))
    first = np.where(
        hispanic,
        np.where(male, rng.choice(names.hispanic_first_m, n), rng.choice(names.hispanic_first_f, n)),
        np.where(male, rng.choice(names.other_first_m, n), rng.choice(names.other_first_f, n)),
    )
    last = np.where(hispanic, rng.choice(names.hispanic_last, n), rng.choice(names.other_last, n))
    ppl = cal["people"]
    age_years = np.clip(rng.normal(ppl["age_mean"], ppl["age_sd"], n), 18, 85)
    birth = as_of - (age_years * 365.25).astype(np.int64).astype("timedelta64[D]")
    years_here = np.minimum(rng.exponential(ppl["years_since_entry_mean"], n), age_years - 0.5)
    entry = np.minimum(as_of - (years_here * 365.25).astype(np.int64).astype("timedelta64[D]"), as_of - np.timedelta64(1, "D"))
    manners = list(ppl["entry_manner"])
    manner = np.array(manners, dtype=object)[rng.choice(len(manners), n, p=_normalised(ppl["entry_manner"].values()))]
    entry_event, apprehension, place = _apprehensions(rng, cal["apprehension"], manner, entry, as_of)
    d = cal["docket"]
    claim_u = rng.random(n)
    claim = np.where(claim_u < d["citizenship_claim_open_share"], "open",
                     np.where(claim_u < d["citizenship_claim_open_share"] + d["citizenship_claim_rejected_share"],
                              "rejected", "none")).astype(object)
    charges = rng.poisson(d["pending_charges_rate"], n)
    charges_filed = np.maximum(as_of - rng.integers(1, d["pending_charges_max_age_days"], n).astype("timedelta64[D]"), entry)
    batch["docket_person"] = {
        "id": person_ids,
        "a_number": a_numbers(person_ids),
        "first_name": first,
        "last_name": last,
        "birth_date": _dates(birth),
        "gender": np.where(male, "M", "F").astype(object),
        "citizenship": citizenship,
        "entry_date": _dates(entry),
        "entry_manner": manner,
        "last_apprehension_date": _dates(apprehension),
        "apprehension_place": place,
        "national_security_flag": rng.random(n) < d["national_security_share"],
        "gang_flag": rng.random(n) < d["gang_share"],
        "citizenship_claim": claim,
        "pending_criminal_charges": charges,
        "pending_charges_filed_on": _dates(np.where(charges > 0, charges_filed, np.datetime64("NaT", "D"))),
        "visa_fraud_finding": rng.random(n) < d["visa_fraud_share"],
        "public_benefits_abuse": rng.random(n) < d["public_benefits_abuse_share"],
        "office_id": np.full(n, p.office_id),
    }

    # Convictions.
    convicted = rng.random(n) < d["convicted"] / d["open_cases"]
    batch["docket_conviction"] = _convictions(inputs, rng, ids, p.office_id, person_ids[convicted],
                                              birth[convicted], entry[convicted], as_of)

    # Cases.
    final_share, appeal_share = _stage_shares(cal)
    su = rng.random(n)
    stage = np.where(su < final_share, "final_order", np.where(su < final_share + appeal_share, "appeal", "pending")).astype(object)
    is_final, is_appeal = stage == "final_order", stage == "appeal"
    supervision = np.empty(n, dtype=object)
    for group, mask in (("final_order", is_final), ("pending", ~is_final)):
        types = list(cal["supervision"][group])
        supervision[mask] = np.array(types, dtype=object)[
            rng.choice(len(types), int(mask.sum()), p=_normalised(cal["supervision"][group].values()))]
    final_date = as_of - (rng.exponential(6.0, n) * 365.25 + 1).astype(np.int64).astype("timedelta64[D]")
    final_date = np.maximum(final_date, entry + np.timedelta64(30, "D"))
    final_date = np.minimum(final_date, as_of - np.timedelta64(1, "D"))
    appeal_filed = as_of - rng.integers(30, 700, n).astype("timedelta64[D]")
    proceedings = np.where(
        is_final, final_date - (rng.uniform(0.3, 3.0, n) * 365.25).astype(np.int64).astype("timedelta64[D]"),
        np.where(is_appeal, appeal_filed - (rng.uniform(0.5, 3.0, n) * 365.25).astype(np.int64).astype("timedelta64[D]"),
                 as_of - (rng.exponential(2.5, n) * 365.25 + 1).astype(np.int64).astype("timedelta64[D]")))
    proceedings = np.minimum(np.maximum(proceedings, entry), as_of - np.timedelta64(1, "D"))
    # Apprehended while entering: the Notice to Appear follows the apprehension within weeks.
    notice_days = cal["apprehension"]["notice_to_appear_within_days"]
    proceedings = np.where(entry_event, np.minimum(apprehension + rng.integers(0, notice_days, n).astype("timedelta64[D]"),
                                                   as_of - np.timedelta64(1, "D")), proceedings)
    final_date = np.maximum(final_date, proceedings)
    appeal_filed = np.maximum(appeal_filed, proceedings)
    nat = np.datetime64("NaT", "D")
    stay = np.where(is_final & (rng.random(n) < d["stay_share_of_final_orders"]),
                    as_of + rng.integers(30, 365, n).astype("timedelta64[D]"), nat)
    cadence = np.array([cal["cadence_days"][s] for s in supervision], dtype=np.int64)
    opened = proceedings

    officer_of_case = np.where(rng.random(n) < d["unassigned_share"], 0, officer_ids[rng.choice(p.officers, n, p=load)])
    active_officers = officer_ids[status == "active"]

    # Check-ins and case-related time in the history window, scaled by the office's capacity.
    exposure_start = np.maximum(opened, window_start)
    case_months = np.maximum((as_of - exposure_start).astype(np.int64), 0) / DAYS_PER_MONTH
    type_key = supervision.astype(str).astype(object) + "/" + stage.astype(str).astype(object)
    rc_shares = records_check_shares(inputs, factor)
    rate_table = {
        key: (_case_rates(inputs, *key.split("/")),
              _expected_minutes(inputs, *key.split("/"), full=False, records_check=rc_shares),
              _expected_minutes(inputs, *key.split("/"), full=True))
        for key in np.unique(type_key)
    }
    for key, (_, what_is, should_be) in rate_table.items():
        mask = type_key == key
        cm = float(case_months[mask].sum())
        weights.add(key, cm, cm * factor * what_is, should_be)

    # Each case is seen every cadence / factor days (an office that can do 40 % of its work sees
    # each case at 40 % of the required rate), from a random phase after the case opened.
    interval = cadence / factor
    ci_case, ci_day, before_window_visit = _visits(rng, opened, interval, window_start, as_of)
    ci_officer = _acting_officer(rng, officer_of_case[ci_case], active_officers, officer_ids, status)
    ci_cal = cal["checkins"]
    appeared = rng.random(len(ci_case)) < ci_cal["appear_share"]
    atd = supervision[ci_case] == "atd"
    rc_run = appeared & (rng.random(len(ci_case)) < np.where(atd, rc_shares[1], rc_shares[0]))
    hit = rc_run & (rng.random(len(ci_case)) < ci_cal["records_check_hit_share"])
    ci_time = ci_day.astype("datetime64[s]") + (8 * 3600 + rng.integers(0, 8 * 3600, len(ci_case))).astype("timedelta64[s]")
    occurred = np.where(appeared, _datetimes(ci_time), None)
    batch_ci_ids = ids.take("checkin", len(ci_case))
    batch["docket_checkin"] = {
        "id": batch_ci_ids,
        "case_id": person_ids[ci_case],
        "office_id": np.full(len(ci_case), p.office_id),
        "officer_id": ci_officer,
        "scheduled_for": _dates(ci_day),
        "occurred_at": occurred,
        "outcome": np.where(appeared, "appeared", "missed").astype(object),
        "method": np.where(atd, "atd_technology", "in_person").astype(object),
        "records_check": np.where(hit, "hit", np.where(rc_run, "clear", "not_run")).astype(object),
        "records_check_detail": np.where(hit, "criminal history record found; referred to supervisor", "").astype(object),
    }

    # Last contact: the latest attended check-in, else the last scheduled visit before the window
    # (its record is older than the history kept), else none.
    last_contact = np.full(n, nat)
    if appeared.any():
        # NaT is the smallest int64, so a maximum over the raw values keeps the latest date.
        np.maximum.at(last_contact.view(np.int64), ci_case[appeared], ci_day[appeared].view(np.int64))
    no_contact = np.isnat(last_contact)
    last_contact[no_contact] = before_window_visit[no_contact]
    next_due = np.where(np.isnat(last_contact), opened, last_contact) + cadence.astype("timedelta64[D]")
    work = _case_work(rng, cal["load"], factor, opened, is_final, final_date, as_of,
                      load_rules().param("custody_review", "milestones_days")["non_detained"])

    officer_col = officer_of_case.astype(object)
    officer_col[officer_of_case == 0] = None
    batch["docket_case"] = {
        "id": person_ids,
        "person_id": person_ids,
        "office_id": np.full(n, p.office_id),
        "unit": np.full(n, "non_detained", dtype=object),
        "officer_id": officer_col,
        "supervision_type": supervision,
        "stage": stage,
        "proceedings_started_on": _dates(proceedings),
        "stage_changed_on": _dates(np.where(is_final, final_date, np.where(is_appeal, appeal_filed, proceedings))),
        "final_order_date": _dates(np.where(is_final, final_date, nat)),
        "appeal_pending": is_appeal,
        "appeal_filed_on": _dates(np.where(is_appeal, appeal_filed, nat)),
        "stay_of_removal_until": _dates(stay),
        "reporting_cadence_days": cadence,
        "next_report_due": _dates(next_due),
        "last_contact_on": _dates(last_contact),
        "priority": np.full(n, "", dtype=object),         # set by `caseload policy reclassify`
        "priority_rank": np.full(n, None, dtype=object),
        "priority_rule_set": np.full(n, "", dtype=object),
        "status": np.full(n, "open", dtype=object),
        "opened_on": _dates(opened),
        "closed_on": np.full(n, None, dtype=object),
        "close_reason": np.full(n, "", dtype=object),
        "version": np.ones(n, dtype=np.int64),
        "warning_served_on": _dates(work["warning_served_on"]),
        "custody_reviewed_on": _dates(work["custody_reviewed_on"]),
        "custody_review_count": work["custody_review_count"],
        "ns_reviewed_on": _dates(np.where(batch["docket_person"]["national_security_flag"], work["reviewed_on"], nat)),
        "td_followed_up_on": np.full(n, None, dtype=object),  # set below for cases with a pending request
    }

    batch["workload_timelogentry"] = _time_log(
        inputs, rng, ids, p, factor, n, case_months, exposure_start, as_of, window_start, rate_table, type_key,
        ci_case, ci_time, ci_officer, appeared, rc_run, atd, officer_of_case, person_ids, officer_ids, status,
        active_officers)

    batch["countries_traveldocumentrequest"] = _travel_documents(
        inputs, rng, ids, p.office_id, person_ids[is_final], citizenship[is_final], final_date[is_final], as_of,
        current=work["current"][is_final], quotas=quotas or {})
    # A pending request is followed up on a current case (the follow-up day: the case's review day).
    requests = batch["countries_traveldocumentrequest"]
    pending = np.isin(requests["status"], ("requested", "interview"))
    followed = np.zeros(n, dtype=bool)
    followed[requests["case_id"][pending] - person_ids[0]] = True
    followed &= work["current"]
    batch["docket_case"]["td_followed_up_on"] = _dates(np.where(followed, work["reviewed_on"], nat))

    open_cases = np.bincount(np.searchsorted(officer_ids, officer_of_case[officer_of_case > 0]), minlength=p.officers)
    batch["offices_officer"] = {
        "id": officer_ids,
        "office_id": np.full(p.officers, p.office_id),
        "unit": np.full(p.officers, "non_detained", dtype=object),
        "first_name": np.where(gender_o, rng.choice(names.other_first_f, p.officers), rng.choice(names.other_first_m, p.officers)),
        "last_name": rng.choice(names.other_last, p.officers),
        "status": status,
        "weekly_hours": np.full(p.officers, 40),
        "entered_on_duty": _dates(as_of - rng.integers(200, 9000, p.officers).astype("timedelta64[D]")),
        "user_id": np.full(p.officers, None, dtype=object),
        "open_cases": open_cases,
    }
    return {table: batch[table] for table in TABLES}


def _apprehensions(rng, cal: dict, manner: np.ndarray, entry: np.ndarray, as_of: np.datetime64):
    """(entry-event mask, last apprehension day, place) per person.

    An entry without inspection is, for a share of people, ended by an apprehension at the
    border (or a port of entry) within a few days: the unlawful-entry event the priority rules
    name. That share is higher for recent entries (people apprehended at the border and released
    into proceedings) than for old ones. Everyone else was last apprehended on a uniform day
    between the entry and the as-of date, in the interior or, for a few, near the border long
    after entering (which is not the entry event). docs/synthetic-docket.md, "People".
    """
    n = len(manner)
    recent = (as_of - entry).astype(np.int64) < cal["recent_entry_years"] * 365.25
    share = np.where(recent, cal["entry_event_share_of_recent_ewi"], cal["entry_event_share_of_older_ewi"])
    entry_event = (manner == "ewi") & (rng.random(n) < share)
    at_port = entry_event & (rng.random(n) < cal["port_of_entry_share_of_entry_events"])
    near_border = ~entry_event & (rng.random(n) < cal["border_area_share_of_other_apprehensions"])
    apprehension = np.where(entry_event, entry + rng.integers(0, cal["entry_event_max_days"] + 1, n).astype("timedelta64[D]"),
                            _uniform_days(rng, entry, np.full(n, as_of)))
    apprehension = np.minimum(apprehension, as_of - np.timedelta64(1, "D"))
    place = np.where(at_port, "port_of_entry", np.where(entry_event | near_border, "border", "interior")).astype(object)
    return entry_event, apprehension, place


def _visits(rng, opened: np.ndarray, interval: np.ndarray, window_start: np.datetime64, as_of: np.datetime64):
    """Scheduled visits of each case: opened + phase + k * interval (phase uniform in one interval).

    Returns (case index, day) of every visit in the history window, and per case the day of its
    last visit before the window (NaT if none) — a contact whose record is older than the window.
    """
    n = len(opened)
    opened_day = opened.astype(np.int64).astype(float)
    first = opened_day + rng.random(n) * interval
    start, end = float(window_start.astype(np.int64)), float(as_of.astype(np.int64))
    k_first = np.maximum(0.0, np.ceil((start - first) / interval))
    k_last = np.floor((end - 1 - first) / interval)
    count = np.maximum(0, k_last - k_first + 1).astype(np.int64)
    case = np.repeat(np.arange(n), count)
    offsets = np.arange(len(case)) - np.repeat(np.cumsum(count) - count, count)
    day = np.floor(first[case] + (k_first[case] + offsets) * interval[case]).astype(np.int64).astype("datetime64[D]")
    k_before = np.minimum(k_first - 1, k_last)
    before = np.where(k_before >= 0, np.floor(first + k_before * interval), np.nan)
    before_day = np.full(n, np.datetime64("NaT", "D"))
    has = ~np.isnan(before)
    before_day[has] = before[has].astype(np.int64).astype("datetime64[D]")
    return case, day, before_day


def _case_work(rng, cal: dict, factor: float, opened, is_final, final_date, as_of, milestones: list[int]) -> dict:
    """What officers kept current on each case, beyond check-ins. A case is current with
    probability share_at_capacity x factor (the office's capacity factor), a final-order case with
    probability share_at_capacity x factor ** removal_work_exponent (removal work comes first).
    On a current case the Form I-229(a) warning was served, the custody reviews held, the
    national-security review and the travel-document follow-up done within the last month; a case
    that is behind has none of that. docs/synthetic-docket.md, "Work under load"."""
    n = len(opened)
    nat = np.datetime64("NaT", "D")
    share = cal["current_share_at_capacity"] * np.where(is_final, factor ** cal["removal_work_exponent"], factor)
    current = rng.random(n) < share
    age = (as_of - final_date).astype(np.int64)
    served = current & is_final & (age > cal["warning_served_after_days"][0])
    lo, hi = cal["warning_served_after_days"]
    warning = np.where(served, np.minimum(final_date + rng.integers(lo, hi + 1, n).astype("timedelta64[D]"),
                                          as_of - np.timedelta64(1, "D")), nat)
    passed = np.zeros(n, dtype=np.int64)
    for m in milestones:
        passed += is_final & (age > m)
    count = np.where(current, passed, 0)
    last_milestone = np.array([0, *milestones], dtype=np.int64)[count]
    reviewed_at_milestone = np.where(count > 0, final_date + (last_milestone - rng.integers(0, 10, n)).astype("timedelta64[D]"), nat)
    recent = as_of - rng.integers(1, cal["review_within_days"], n).astype("timedelta64[D]")
    reviewed = np.where(current, np.maximum(recent, opened), nat)
    return {"current": current, "warning_served_on": warning, "custody_review_count": count,
            "custody_reviewed_on": reviewed_at_milestone, "reviewed_on": reviewed}


def _over_quota(country: str, quota: int, citizenship, outcome, decided, undecided) -> np.ndarray:
    """Documents of ``country`` issued beyond ``quota`` in their fiscal year (1 October), in date order."""
    over = np.zeros(len(outcome), dtype=bool)
    idx = np.flatnonzero((citizenship == country) & (outcome == "issued") & ~undecided)
    if not len(idx):
        return over
    day = decided[idx]
    fiscal_year = (day + np.timedelta64(92, "D")).astype("datetime64[Y]").astype(np.int64)  # 1 Oct starts the next year
    order = np.lexsort((day.astype(np.int64), fiscal_year))
    years = fiscal_year[order]
    rank = np.arange(len(order)) - np.searchsorted(years, years)  # position within its fiscal year
    over[idx[order[rank >= quota]]] = True
    return over


def quota_shares(inputs: Inputs, plans: list[OfficePlan]) -> dict[str, np.ndarray]:
    """Per quota country, each office's expected share of that country's cases (cases x mix)."""
    out = {}
    mixes = [_citizenship_mix(inputs, p.code) for p in plans]
    for country in inputs.country_quotas:
        weight = np.array([p.cases * float(w[list(c).index(country)]) if country in set(c) else 0.0
                           for p, (c, w) in zip(plans, mixes, strict=True)])
        out[country] = weight / weight.sum() if weight.sum() else weight
    return out


def office_quotas(inputs: Inputs, shares: dict[str, np.ndarray], index: int) -> dict[str, int]:
    """An office's yearly document quota per country: national quota x scale x its share."""
    return {c: int(round(inputs.country_quotas[c] * inputs.scale * float(s[index]))) for c, s in shares.items()}


def _normalised(values) -> np.ndarray:
    arr = np.array(list(values), dtype=float)
    return arr / arr.sum()


def _citizenship_mix(inputs: Inputs, code: str) -> tuple[np.ndarray, np.ndarray]:
    counts: dict[str, float] = {}
    for kind in ("arrests", "encounters"):
        for country, c in inputs.aggregates["files"][kind]["by_office_citizenship"].get(code, {}).items():
            if country in inputs.country_tiers:
                counts[country] = counts.get(country, 0) + c
    if not counts:  # an office with no recorded mix takes the national one
        for kind in ("arrests", "encounters"):
            for country, c in inputs.aggregates["files"][kind]["by_citizenship"].items():
                if country in inputs.country_tiers:
                    counts[country] = counts.get(country, 0) + c
    keys = sorted(counts)
    return np.array(keys, dtype=object), _normalised(counts[k] for k in keys)


def _acting_officer(rng, assigned: np.ndarray, active: np.ndarray, officer_ids: np.ndarray, status: np.ndarray) -> np.ndarray:
    """The case's officer if assigned and at work, else an active officer of the office (duty officer)."""
    at_work = np.zeros(len(assigned), dtype=bool)
    has = assigned > 0
    at_work[has] = status[np.searchsorted(officer_ids, assigned[has])] == "active"
    return np.where(at_work, assigned, active[rng.integers(0, len(active), len(assigned))])


def _convictions(inputs: Inputs, rng, ids: IdCounters, office_id: int, person_ids, birth, entry, as_of) -> dict:
    cal = inputs.calibration["convictions"]
    per_person = 1 + rng.poisson(cal["extra_per_convicted"], len(person_ids))
    owner = np.repeat(np.arange(len(person_ids)), per_person)
    m = len(owner)
    first = np.ones(m, dtype=bool)
    first[1:] = owner[1:] != owner[:-1]
    new_incident = first | (rng.random(m) >= cal["same_incident_share"])
    incident_seq = np.cumsum(new_incident)
    incident_seq -= incident_seq[np.flatnonzero(first)][np.cumsum(first) - 1] - 1
    adult = birth[owner] + np.timedelta64(6575, "D")  # 18 years
    start = np.minimum(np.maximum(adult, entry[owner]), as_of - np.timedelta64(2, "D"))
    day = _uniform_days(rng, start, np.full(m, as_of))
    # A further conviction from the same incident shares the incident's first date.
    day = day[np.maximum.accumulate(np.where(new_incident, np.arange(m), 0))]
    weights = _normalised(o.weight for o in inputs.offenses)
    cat_idx = rng.choice(len(inputs.offenses), m, p=weights)
    felony_share = np.array([o.felony_share for o in inputs.offenses])[cat_idx]
    aggr_share = np.array([o.aggravated_share for o in inputs.offenses])[cat_idx]
    felony = rng.random(m) < felony_share
    aggravated = felony & (rng.random(m) < aggr_share)
    sigma = 0.9
    fel = rng.lognormal(math.log(cal["felony_sentence_mean_days"]) - sigma**2 / 2, sigma, m)
    mis = rng.lognormal(math.log(cal["misdemeanor_sentence_mean_days"]) - sigma**2 / 2, sigma, m)
    mis[rng.random(m) < cal["misdemeanor_no_custody_share"]] = 0
    sentence = np.rint(np.where(felony, fel, mis)).astype(np.int64)
    suspended = rng.random(m) < cal["suspended_share"]
    custody = np.where(suspended, np.floor(sentence * rng.uniform(0, 0.6, m)), sentence).astype(np.int64)
    pid = person_ids[owner]
    return {
        "id": ids.take("conviction", m),
        "person_id": pid,
        "office_id": np.full(m, office_id),
        "convicted_on": _dates(day),
        "offense_category": np.array([o.code for o in inputs.offenses], dtype=object)[cat_idx],
        "severity": np.where(felony, "felony", "misdemeanor").astype(object),
        "aggravated_felony": aggravated,
        "sentence_days": sentence,
        "custody_days": custody,
        "incident_id": np.char.add(np.char.add(pid.astype(str), "-"), incident_seq.astype(str)).astype(object),
    }


def _time_log(inputs, rng, ids, p, factor, n, case_months, exposure_start, as_of, window_start, rate_table, type_key,
              ci_case, ci_time, ci_officer, appeared, rc_run, atd, officer_of_case, person_ids, officer_ids, status,
              active_officers) -> dict:
    acts = inputs.activities
    parts = []  # (officer, case_id or 0, activity, started_at datetime64[s], minutes)

    def minutes(activity: str, k: int) -> np.ndarray:
        return _lognormal_minutes(rng, acts[activity].mean_minutes, acts[activity].sigma, k)

    # Check-in interviews and the records checks run at them.
    sel = appeared
    interview = np.where(atd[sel], "atd_review", "check_in").astype(object)
    interview_minutes = np.where(atd[sel], minutes("atd_review", int(sel.sum())), minutes("check_in", int(sel.sum())))
    parts.append((ci_officer[sel], person_ids[ci_case[sel]], interview, ci_time[sel], interview_minutes))
    k = int(rc_run.sum())
    parts.append((ci_officer[rc_run], person_ids[ci_case[rc_run]], np.full(k, "records_check", dtype=object),
                  ci_time[rc_run] + np.timedelta64(900, "s"), minutes("records_check", k)))

    # Other case work: Poisson counts per case from the case type's rates.
    other = sorted({a for rates, _, _ in rate_table.values() for a in rates if a != "check_in_event"})
    for activity in other:
        rate = np.array([rate_table[t][0].get(activity, 0.0) for t in type_key])
        count = rng.poisson(rate * factor * case_months)
        case_idx = np.repeat(np.arange(n), count)
        if not len(case_idx):
            continue
        day = _uniform_days(rng, exposure_start[case_idx], np.full(len(case_idx), as_of))
        when = day.astype("datetime64[s]") + (8 * 3600 + rng.integers(0, 8 * 3600, len(case_idx))).astype("timedelta64[s]")
        who = _acting_officer(rng, officer_of_case[case_idx], active_officers, officer_ids, status)
        parts.append((who, person_ids[case_idx], np.full(len(case_idx), activity, dtype=object), when,
                      minutes(activity, len(case_idx))))

    # Collateral duties of officers at work.
    window_days = int((as_of - window_start).astype(np.int64))
    months = window_days / DAYS_PER_MONTH
    for activity, per_month in inputs.calibration["collateral_per_officer_month"].items():
        count = rng.poisson(per_month * months, len(active_officers))
        who = np.repeat(active_officers, count)
        day = window_start + rng.integers(0, window_days, len(who)).astype("timedelta64[D]")
        when = day.astype("datetime64[s]") + (8 * 3600 + rng.integers(0, 8 * 3600, len(who))).astype("timedelta64[s]")
        parts.append((who, np.zeros(len(who), dtype=np.int64), np.full(len(who), activity, dtype=object), when,
                      minutes(activity, len(who))))

    officer = np.concatenate([q[0] for q in parts]).astype(np.int64)
    case = np.concatenate([q[1] for q in parts]).astype(np.int64)
    case_col = case.astype(object)
    case_col[case == 0] = None
    m = len(officer)
    return {
        "id": ids.take("timelog", m),
        "officer_id": officer,
        "office_id": np.full(m, p.office_id),
        "case_id": case_col,
        "activity": np.concatenate([q[2] for q in parts]),
        "started_at": _datetimes(np.concatenate([q[3] for q in parts])),
        "minutes": np.concatenate([q[4] for q in parts]),
    }


def _travel_documents(inputs: Inputs, rng, ids: IdCounters, office_id: int, case_ids, citizenship, final_date, as_of,
                      *, current: np.ndarray, quotas: Mapping[str, int]) -> dict:
    """Travel-document requests of one office's final-order cases.

    A current case has a request (share ``request_share_given_current``), made within the last
    ``current_request_within_days`` (so an issued document is still valid); a case that is behind
    has one with a small share, made at any time in the last three years. A quota country issues
    at most ``quotas[country]`` documents a fiscal year at this office (its share of the national
    quota at this scale); documents beyond it wait, pending."""
    td = inputs.calibration["travel_documents"]
    load = inputs.calibration["load"]
    u = rng.random(len(case_ids))
    requested = np.where(current, u < load["request_share_given_current"], u < load["request_share_when_behind"])
    case_ids, citizenship, final_date, recent = case_ids[requested], citizenship[requested], final_date[requested], current[requested]
    m = len(case_ids)
    window = np.where(recent, load["current_request_within_days"], 3 * 365).astype("timedelta64[D]")
    earliest = np.maximum(final_date, as_of - window)
    requested_on = _uniform_days(rng, earliest, np.full(m, as_of))
    tiers = np.array([inputs.country_tiers.get(c, "cooperative") for c in citizenship], dtype=object)
    issued_p = np.array([td["tier"][t]["issued"] for t in tiers])
    refused_p = np.array([td["tier"][t]["refused"] for t in tiers])
    median = np.array([td["tier"][t]["median_days"] for t in tiers], dtype=float)
    sigma = np.array([td["tier"][t]["sigma"] for t in tiers], dtype=float)
    delay = np.maximum(1, np.rint(np.exp(np.log(median) + sigma * rng.standard_normal(m)))).astype(np.int64)
    decided = requested_on + delay.astype("timedelta64[D]")
    u = rng.random(m)
    outcome = np.where(u < issued_p, "issued", np.where(u < issued_p + refused_p, "refused", "pending")).astype(object)
    undecided = (outcome == "pending") | (decided >= as_of)
    for country, quota in quotas.items():
        undecided |= _over_quota(country, quota, citizenship, outcome, decided, undecided)
    expires = decided + np.timedelta64(td["issued_validity_days"], "D")
    nat = np.datetime64("NaT", "D")
    status = np.where(undecided, np.where(as_of - requested_on > np.timedelta64(30, "D"), "interview", "requested"),
                      np.where(outcome == "issued", np.where(expires < as_of, "expired", "issued"), "refused")).astype(object)
    return {
        "id": ids.take("travel_document", m),
        "case_id": case_ids,
        "office_id": np.full(m, office_id),
        "country_id": citizenship,
        "requested_on": _dates(requested_on),
        "status": status,
        "decided_on": _dates(np.where(undecided, nat, decided)),
        "expires_on": _dates(np.where(~undecided & (outcome == "issued"), expires, nat)),
        "refusal_reason": np.where(~undecided & (outcome == "refused"), "consulate declined to issue", "").astype(object),
    }
