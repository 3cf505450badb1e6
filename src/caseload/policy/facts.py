"""The case facts a priority rule set may test, and the two ways of reading them.

Every fact has a name, a kind (``bool``, ``int``, ``date`` or ``enum``) and a definition.
Rule-set files name facts; the validator refuses any name not in :data:`FACTS`.

Two readers compute the same facts independently:

- :func:`case_facts` for one case, through the ORM, in plain Python (``policy explain``);
- :func:`fact_columns` for every open case at once, as NumPy columns read with one SQL query
  per table group (``policy reclassify`` and ``policy compare``).

The property tests check that both agree. Every dated fact is taken "as of" the evaluation date:
a conviction, final order, entry, apprehension or criminal charge dated after it does not exist
for that evaluation (an entry after the date hides its manner too, an apprehension after it its
place; pending charges filed after it count as none; charges with no filing date recorded count).
Person flags (national-security, gang, visa fraud, public-benefits abuse) have no history:
their current value is used.

The border clauses of the rule sets need an apprehension that *is* the unlawful-entry event, not
any past apprehension near the border. It is derived (``unlawful_entry_apprehension``): the last
entry, as of the date, was without inspection, and the last apprehension, as of the date, was at
the border or a port of entry no more than :data:`ENTRY_EVENT_DAYS` days after that entry
(docs/policy.md, "Facts"; docs/domain.md §5).

Vectorised encoding (one int64 column per fact, no NULLs crossing the driver): booleans are 0/1,
counts are integers, dates are days since 1970-01-01 with :data:`NULL_DAY` for "unknown",
enumerations are the index of the value in ``Fact.choices`` with -1 for "unknown".
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from caseload.docket import taxonomy
from caseload.docket.models import ApprehensionPlace, CitizenshipClaim, EntryManner, Stage, SupervisionType

EPOCH = dt.date(1970, 1, 1)
NULL_DAY = -(2**31)  # "no date" in a day column; far below any real date
NULL_INT = -(2**31)  # "unknown" in a nullable whole-number column (age, years since entry)
# An apprehension at the border or a port of entry within this many days after an entry without
# inspection is the unlawful-entry event itself: the window of the expedited-removal designation
# for people encountered near the border who cannot show 14 days of presence (69 Fed. Reg. 48877,
# 11 August 2004; docs/domain.md §5).
ENTRY_EVENT_DAYS = 14
BORDER_PLACES = (ApprehensionPlace.BORDER.value, ApprehensionPlace.PORT_OF_ENTRY.value)

BOOL, INT, DATE, ENUM = "bool", "int", "date", "enum"
# Operators allowed per kind of fact (``in`` / ``not in`` take a list).
OPERATORS = {
    BOOL: ("==", "!="),
    INT: ("==", "!=", "<", "<=", ">", ">=", "in", "not in"),
    DATE: ("==", "!=", "<", "<=", ">", ">="),
    ENUM: ("==", "!=", "in", "not in"),
}
ALL_OPERATORS = ("==", "!=", "<", "<=", ">", ">=", "in", "not in")


@dataclass(frozen=True)
class Fact:
    name: str
    kind: str
    label: str
    group: str  # "person", "case", "conviction" or "derived"
    choices: tuple[str, ...] = ()


def _values(choices) -> tuple[str, ...]:
    return tuple(choices.values)


_FACT_LIST = [
    # The person (current values).
    Fact("national_security_flag", BOOL, "engaged in or suspected of terrorism or espionage, or otherwise a "
         "danger to national security (person flag)", "person"),
    Fact("gang_flag", BOOL, "gang offense, or intentional participation in an organized criminal gang at 16 or older", "person"),
    Fact("visa_fraud_finding", BOOL, "significant visa abuse, or fraud or wilful misrepresentation before an agency", "person"),
    Fact("public_benefits_abuse", BOOL, "abuse of a public-benefits program", "person"),
    Fact("pending_criminal_charges", INT, "criminal charges filed on or before the as-of date and not yet resolved "
         "(charges with no filing date recorded count)", "person"),
    Fact("entry_manner", ENUM, "how the person last entered the United States (unknown if that entry is after the "
         "as-of date)", "person", _values(EntryManner)),
    Fact("entry_date", DATE, "date of the last entry (unknown if after the as-of date)", "person"),
    Fact("apprehension_place", ENUM, "where the person was last apprehended (unknown if that apprehension is after "
         "the as-of date)", "person", _values(ApprehensionPlace)),
    Fact("last_apprehension_date", DATE, "date of the last apprehension (unknown if after the as-of date)", "person"),
    Fact("citizenship_claim", ENUM, "state of any claim to U.S. citizenship", "person", _values(CitizenshipClaim)),
    # The case.
    Fact("stage", ENUM, "proceedings stage of the case", "case", _values(Stage)),
    Fact("supervision_type", ENUM, "supervision type of the case", "case", _values(SupervisionType)),
    Fact("appeal_pending", BOOL, "an appeal is pending", "case"),
    Fact("final_order_date", DATE, "date of the final order of removal (unknown if after the as-of date)", "case"),
    Fact("final_order", BOOL, "a final order of removal dated on or before the as-of date", "case"),
    # Convictions entered on or before the as-of date.
    Fact("convictions", INT, "convictions of any offense", "conviction"),
    Fact("felony_convictions", INT, "felony convictions, excluding immigration-status offenses", "conviction"),
    Fact("aggravated_felony_convictions", INT, "aggravated-felony convictions (INA 101(a)(43))", "conviction"),
    Fact("misdemeanor_convictions", INT, "misdemeanor convictions, excluding minor traffic and immigration-status offenses",
         "conviction"),
    Fact("misdemeanor_incidents", INT, "separate incidents behind those misdemeanor convictions", "conviction"),
    Fact("significant_misdemeanor_convictions", INT, "misdemeanor convictions in a category the offense taxonomy marks "
         "significant (domestic violence, sexual abuse or exploitation, burglary, firearm, drug distribution, DUI)",
         "conviction"),
    Fact("max_misdemeanor_custody_days", INT, "longest custody served on one misdemeanor conviction (suspended part excluded)",
         "conviction"),
    Fact("max_custody_days", INT, "longest custody served on one conviction (suspended part excluded)", "conviction"),
    Fact("last_conviction_date", DATE, "date of the most recent conviction", "conviction"),
    # Derived from dates and the as-of date.
    Fact("age", INT, "age in whole years on the as-of date", "derived"),
    Fact("years_since_entry", INT, "whole years from the last entry to the as-of date", "derived"),
    Fact("unlawful_entry_apprehension", BOOL, "the last apprehension was the unlawful-entry event itself: at the border "
         f"or a port of entry, within {ENTRY_EVENT_DAYS} days after an entry without inspection", "derived"),
    Fact("apprehended_after_entry", BOOL, "the last apprehension was on or after the last entry (both known as of the "
         "date): the person was apprehended after entering", "derived"),
]
FACTS: dict[str, Fact] = {f.name: f for f in _FACT_LIST}


# --------------------------------------------------------------------------------------------
# Shared arithmetic


def whole_years(start: dt.date | None, end: dt.date) -> int | None:
    """Completed years from ``start`` to ``end`` (a birthday on 29 Feb counts from 1 Mar)."""
    if start is None:
        return None
    return end.year - start.year - ((end.month, end.day) < (start.month, start.day))


def day_number(value: dt.date) -> int:
    return (value - EPOCH).days


def _offense_codes(flag: str) -> list[str]:
    return sorted(c.code for c in taxonomy.categories().values() if getattr(c, flag))


# --------------------------------------------------------------------------------------------
# One case, through the ORM (the reference implementation used by ``explain``)


def case_facts(case, *, as_of: dt.date) -> dict:
    """Every fact of ``case`` as of ``as_of``, as plain Python values (dates, strings, ints, bools, None)."""
    from caseload.docket.models import Conviction

    person = case.person
    categories = taxonomy.categories()
    final_date = case.final_order_date if case.final_order_date and case.final_order_date <= as_of else None
    entry_later = person.entry_date is not None and person.entry_date > as_of
    entry_date = None if entry_later else person.entry_date
    entry_manner = None if entry_later else (person.entry_manner or None)
    apprehension_later = person.last_apprehension_date is not None and person.last_apprehension_date > as_of
    apprehended_on = None if apprehension_later else person.last_apprehension_date
    place = None if apprehension_later else (person.apprehension_place or None)
    charges_later = person.pending_charges_filed_on is not None and person.pending_charges_filed_on > as_of
    after_entry = entry_date is not None and apprehended_on is not None and apprehended_on >= entry_date
    facts: dict = {
        "national_security_flag": person.national_security_flag,
        "gang_flag": person.gang_flag,
        "visa_fraud_finding": person.visa_fraud_finding,
        "public_benefits_abuse": person.public_benefits_abuse,
        "pending_criminal_charges": 0 if charges_later else person.pending_criminal_charges,
        "entry_manner": entry_manner,
        "entry_date": entry_date,
        "apprehension_place": place,
        "last_apprehension_date": apprehended_on,
        "unlawful_entry_apprehension": bool(
            after_entry and entry_manner == EntryManner.WITHOUT_INSPECTION and place in BORDER_PLACES
            and (apprehended_on - entry_date).days <= ENTRY_EVENT_DAYS),
        "apprehended_after_entry": after_entry,
        "citizenship_claim": person.citizenship_claim or None,
        "stage": case.stage,
        "supervision_type": case.supervision_type,
        "appeal_pending": case.appeal_pending,
        "final_order_date": final_date,
        "final_order": final_date is not None,
        "age": whole_years(person.birth_date, as_of),
        "years_since_entry": whole_years(entry_date, as_of),
    }
    convictions = list(Conviction.objects.filter(person=person, convicted_on__lte=as_of)
                       .values_list("offense_category", "severity", "aggravated_felony", "custody_days",
                                    "incident_id", "convicted_on"))
    felonies = aggravated = misdemeanors = significant = max_mis_custody = max_custody = 0
    incidents: set[str] = set()
    for category, severity, is_aggravated, custody, incident, _ in convictions:
        cat = categories[category]
        max_custody = max(max_custody, custody)
        aggravated += bool(is_aggravated)
        if severity == "felony":
            felonies += not cat.status_offense
            continue
        max_mis_custody = max(max_mis_custody, custody)
        significant += cat.significant_misdemeanor
        if not (cat.minor_traffic or cat.status_offense):
            misdemeanors += 1
            incidents.add(incident)
    facts.update({
        "convictions": len(convictions),
        "felony_convictions": felonies,
        "aggravated_felony_convictions": aggravated,
        "misdemeanor_convictions": misdemeanors,
        "misdemeanor_incidents": len(incidents),
        "significant_misdemeanor_convictions": significant,
        "max_misdemeanor_custody_days": max_mis_custody,
        "max_custody_days": max_custody,
        "last_conviction_date": max((c[5] for c in convictions), default=None),
    })
    assert set(facts) == set(FACTS), "case_facts must compute every registered fact"
    return facts


# --------------------------------------------------------------------------------------------
# Every open case, as NumPy columns


@dataclass
class Columns:
    """Fact columns for ``n`` cases in case-id order, plus the case ids and their offices."""

    case_id: np.ndarray
    office_id: np.ndarray
    values: dict[str, np.ndarray]
    current: np.ndarray | None = None  # the stored level index under one rule set (-1: other/none)

    def __len__(self) -> int:
        return len(self.case_id)


# Reading 2.2 million rows costs mostly the driver's per-value work, so the small values of a row
# (flags, enumerations, dates, the stored level) travel packed into a few 62-bit integers that
# NumPy unpacks; counts travel as plain columns. Packed values are non-negative, 0 = unknown.
PACK_DATE_BASE = dt.date(1800, 1, 1)  # packed dates: days since this day + 1 (earlier dates read as unknown)
PACK_DATE_BITS = 22
WORD_BITS = 62


@dataclass(frozen=True)
class _Field:
    name: str
    sql: str          # a non-negative integer when packed
    bits: int | None  # None: a column of its own
    decode: str       # "bool", "enum", "date", "level" or "plain"


def days_sql(vendor: str, expr: str) -> str:
    """SQL for ``expr`` (a date) as days since 1970-01-01, NULL_DAY when NULL."""
    if vendor == "postgresql":
        return f"COALESCE(({expr} - DATE '1970-01-01'), {NULL_DAY})"
    return f"COALESCE(CAST(julianday({expr}) - 2440587.5 AS INTEGER), {NULL_DAY})"


def _packed_date_sql(vendor: str, expr: str) -> str:
    base = PACK_DATE_BASE.isoformat()
    if vendor == "postgresql":
        days = f"({expr} - DATE '{base}')"
    else:
        days = f"CAST(julianday({expr}) - julianday('{base}') AS INTEGER)"
    return f"(CASE WHEN {expr} >= '{base}' THEN {days} + 1 ELSE 0 END)"


def enum_sql(expr: str, choices: tuple[str, ...], *, offset: int = 0) -> str:
    """Index of the value in ``choices`` (+ ``offset``), ``offset - 1`` for anything else."""
    whens = " ".join(f"WHEN '{value}' THEN {i + offset}" for i, value in enumerate(choices))
    return f"(CASE {expr} {whens} ELSE {offset - 1} END)"


def _bool_sql(expr: str) -> str:
    return f"(CASE WHEN {expr} THEN 1 ELSE 0 END)"


def _in_list(codes: list[str]) -> str:
    return "(" + ", ".join(f"'{c}'" for c in codes) + ")" if codes else "('')"


def _row_fields(vendor: str) -> dict[str, _Field]:
    """How each stored person or case fact is read (aliases: c = case, p = person)."""
    fields: dict[str, _Field] = {}
    for name in ("national_security_flag", "gang_flag", "visa_fraud_finding", "public_benefits_abuse"):
        fields[name] = _Field(name, _bool_sql(f"p.{name}"), 1, "bool")
    fields["appeal_pending"] = _Field("appeal_pending", _bool_sql("c.appeal_pending"), 1, "bool")
    fields["pending_criminal_charges"] = _Field("pending_criminal_charges", "p.pending_criminal_charges", None, "plain")
    # Charges filed after the as-of date count as none (no filing date recorded: they count).
    fields["pending_charges_filed_on"] = _Field("pending_charges_filed_on",
                                                _packed_date_sql(vendor, "p.pending_charges_filed_on"), PACK_DATE_BITS, "date")
    for alias, names in (("p", ("entry_manner", "apprehension_place", "citizenship_claim")), ("c", ("stage", "supervision_type"))):
        for name in names:
            choices = FACTS[name].choices
            fields[name] = _Field(name, enum_sql(f"{alias}.{name}", choices, offset=1), len(choices).bit_length(), "enum")
    for alias, name in (("p", "entry_date"), ("p", "last_apprehension_date"), ("c", "final_order_date"), ("p", "birth_date")):
        fields[name] = _Field(name, _packed_date_sql(vendor, f"{alias}.{name}"), PACK_DATE_BITS, "date")
    return fields


def _conviction_sql(vendor: str) -> dict[str, str]:
    """Per-person aggregate SQL over convictions (alias v), one expression per conviction fact."""
    status = _in_list(_offense_codes("status_offense"))
    excluded = _in_list(sorted(set(_offense_codes("status_offense")) | set(_offense_codes("minor_traffic"))))
    significant = _in_list(_offense_codes("significant_misdemeanor"))
    counted_misdemeanor = f"v.severity = 'misdemeanor' AND v.offense_category NOT IN {excluded}"
    return {
        "convictions": "COUNT(*)",
        "felony_convictions": f"SUM(CASE WHEN v.severity = 'felony' AND v.offense_category NOT IN {status} THEN 1 ELSE 0 END)",
        "aggravated_felony_convictions": "SUM(CASE WHEN v.aggravated_felony THEN 1 ELSE 0 END)",
        "misdemeanor_convictions": f"SUM(CASE WHEN {counted_misdemeanor} THEN 1 ELSE 0 END)",
        "misdemeanor_incidents": f"COUNT(DISTINCT CASE WHEN {counted_misdemeanor} THEN v.incident_id END)",
        "significant_misdemeanor_convictions":
            f"SUM(CASE WHEN v.severity = 'misdemeanor' AND v.offense_category IN {significant} THEN 1 ELSE 0 END)",
        "max_misdemeanor_custody_days": "MAX(CASE WHEN v.severity = 'misdemeanor' THEN v.custody_days ELSE 0 END)",
        "max_custody_days": "MAX(v.custody_days)",
        "last_conviction_date": days_sql(vendor, "MAX(v.convicted_on)"),
    }


# The stored columns each fact needs (itself when not listed): derived facts, and facts hidden
# when their own date is after the as-of date.
_NEEDS = {
    "final_order": ("final_order_date",),
    "age": ("birth_date",),
    "years_since_entry": ("entry_date",),
    "entry_manner": ("entry_manner", "entry_date"),
    "apprehension_place": ("apprehension_place", "last_apprehension_date"),
    "pending_criminal_charges": ("pending_criminal_charges", "pending_charges_filed_on"),
    "unlawful_entry_apprehension": ("entry_manner", "entry_date", "apprehension_place", "last_apprehension_date"),
    "apprehended_after_entry": ("entry_date", "last_apprehension_date"),
}
CONVICTION_DEFAULTS = {"last_conviction_date": NULL_DAY}


def open_cases_from(vendor: str) -> str:
    """``FROM`` clause for a pass over all open cases in id order (alias ``c``).

    On SQLite the case table is scanned in rowid (= id) order: a secondary index that starts
    with ``status`` would otherwise be chosen, turning the pass into random row lookups plus a
    sort of millions of rows.
    """
    return "FROM docket_case AS c NOT INDEXED" if vendor == "sqlite" else "FROM docket_case AS c"


def fetch_int_matrix(sql: str, params: list, width: int) -> np.ndarray:
    """Run ``sql`` (every column an integer, none NULL) and return an (n, width) int64 array."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(sql, params)
        flat = np.fromiter(itertools.chain.from_iterable(cur.cursor), dtype=np.int64)
    return flat.reshape(-1, width)


def _pack(fields: list[_Field]) -> tuple[list[str], list[tuple[_Field, int, int]]]:
    """SQL of the packed words, and (field, word index, bit shift) for each packed field."""
    words: list[list[tuple[_Field, int]]] = []
    used = WORD_BITS
    for f in fields:
        if used + f.bits > WORD_BITS:
            words.append([])
            used = 0
        words[-1].append((f, used))
        used += f.bits
    sql = [" + ".join(f"CAST({f.sql} AS BIGINT) * {1 << shift}" for f, shift in word) for word in words]
    layout = [(f, w, shift) for w, word in enumerate(words) for f, shift in word]
    return sql, layout


def _decode(field: _Field, raw: np.ndarray) -> np.ndarray:
    if field.decode == "bool":
        return raw.astype(bool)
    if field.decode in ("enum", "level"):
        return raw - 1
    if field.decode == "date":
        return np.where(raw == 0, NULL_DAY, raw - 1 + (PACK_DATE_BASE - EPOCH).days)
    return raw


def _whole_years_vector(start_days: np.ndarray, as_of: dt.date) -> np.ndarray:
    """Vector form of :func:`whole_years` over day numbers (NULL_DAY stays NULL_INT)."""
    valid = start_days != NULL_DAY
    start = np.where(valid, start_days, 0).astype("datetime64[D]")
    years = start.astype("datetime64[Y]")
    month = (start.astype("datetime64[M]") - years.astype("datetime64[M]")).astype(np.int64) + 1
    day = (start - start.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    not_yet = (as_of.month < month) | ((as_of.month == month) & (as_of.day < day))
    out = as_of.year - (years.astype(np.int64) + 1970) - not_yet
    return np.where(valid, out, NULL_INT)


def fact_columns(names: Iterable[str], *, as_of: dt.date, case_ids: Iterable[int] | None = None,
                 current_levels: tuple[str, list[str]] | None = None) -> Columns:
    """The named facts for every open case (or the open cases among ``case_ids``), in case-id order.

    ``current_levels`` = (rule set id, level codes): also read each case's stored priority as a
    level index under that rule set (-1 when it was set by another rule set or not at all), so
    the caller can tell which rows change without reading strings.
    """
    from django.db import connection

    vendor = connection.vendor
    wanted = set(names)
    unknown = wanted - set(FACTS)
    if unknown:
        raise ValueError(f"unknown facts: {sorted(unknown)}")
    row_fields = _row_fields(vendor)
    stored = sorted({need for n in wanted if FACTS[n].group != "conviction" for need in _NEEDS.get(n, (n,))})
    fields = [row_fields[n] for n in stored]
    params: list = []
    if current_levels is not None:
        rule_set_id, codes = current_levels
        whens = " ".join(f"WHEN %s THEN {i + 1}" for i in range(len(codes)))
        fields.append(_Field("__current", f"(CASE WHEN c.priority_rule_set = %s AND c.priority_rank = "
                                          f"(CASE c.priority {whens} ELSE 0 END) THEN c.priority_rank ELSE 0 END)",
                             len(codes).bit_length(), "level"))
        params += [rule_set_id, *codes]  # the only placeholders of the query
    packed_sql, layout = _pack([f for f in fields if f.bits is not None])
    plain = [f for f in fields if f.bits is None]
    select = ["c.id", "c.office_id", "c.person_id", *packed_sql, *(f.sql for f in plain)]
    where = "c.status = 'open'"
    id_filter = None if case_ids is None else sorted({int(i) for i in case_ids})
    if id_filter is not None:
        where += f" AND c.id IN ({', '.join(str(i) for i in id_filter) or 'NULL'})"
    matrix = fetch_int_matrix(
        f"SELECT {', '.join(select)} {open_cases_from(vendor)} JOIN docket_person p ON p.id = c.person_id "
        f"WHERE {where} ORDER BY c.id", params, len(select))
    raw: dict[str, np.ndarray] = {}
    for f, word, shift in layout:
        raw[f.name] = _decode(f, (matrix[:, 3 + word] >> shift) & ((1 << f.bits) - 1))
    for i, f in enumerate(plain):
        raw[f.name] = matrix[:, 3 + len(packed_sql) + i]
    cols = Columns(case_id=matrix[:, 0].copy(), office_id=matrix[:, 1].copy(), values={},
                   current=raw.get("__current"))
    as_of_day = day_number(as_of)
    for name in wanted:
        if FACTS[name].group != "conviction":
            cols.values[name] = _stored_fact(name, raw, as_of, as_of_day)
    conviction_names = sorted(n for n in wanted if FACTS[n].group == "conviction")
    if conviction_names:
        _add_conviction_columns(cols, matrix[:, 2], conviction_names, as_of, vendor, id_filter)
    return cols


def _as_of_day(raw: dict[str, np.ndarray], name: str, as_of_day: int) -> np.ndarray:
    """A stored date column with the dates after the as-of day read as unknown."""
    col = raw[name]
    return np.where(col <= as_of_day, col, NULL_DAY)


def _stored_fact(name: str, raw: dict[str, np.ndarray], as_of: dt.date, as_of_day: int) -> np.ndarray:
    """One person or case fact as of the date, from the raw stored columns (see case_facts)."""
    if name in ("final_order_date", "entry_date", "last_apprehension_date"):
        return _as_of_day(raw, name, as_of_day)
    if name == "final_order":
        return _as_of_day(raw, "final_order_date", as_of_day) != NULL_DAY
    if name == "age":
        return _whole_years_vector(raw["birth_date"], as_of)
    if name == "years_since_entry":
        return _whole_years_vector(_as_of_day(raw, "entry_date", as_of_day), as_of)
    if name == "entry_manner":
        return np.where(raw["entry_date"] > as_of_day, -1, raw[name])
    if name == "apprehension_place":
        return np.where(raw["last_apprehension_date"] > as_of_day, -1, raw[name])
    if name == "pending_criminal_charges":
        return np.where(raw["pending_charges_filed_on"] > as_of_day, 0, raw[name])
    if name not in ("apprehended_after_entry", "unlawful_entry_apprehension"):
        return raw[name]
    entry = _as_of_day(raw, "entry_date", as_of_day)
    apprehended = _as_of_day(raw, "last_apprehension_date", as_of_day)
    after_entry = (entry != NULL_DAY) & (apprehended != NULL_DAY) & (apprehended >= entry)
    if name == "apprehended_after_entry":
        return after_entry
    manners, places = FACTS["entry_manner"].choices, FACTS["apprehension_place"].choices
    ewi = raw["entry_manner"] == manners.index(EntryManner.WITHOUT_INSPECTION.value)
    at_border = np.isin(raw["apprehension_place"], [places.index(p) for p in BORDER_PLACES])
    return after_entry & ewi & at_border & (apprehended - entry <= ENTRY_EVENT_DAYS)


def _add_conviction_columns(cols: Columns, person_ids: np.ndarray, names: list[str], as_of: dt.date, vendor: str,
                            case_filter: list[int] | None) -> None:
    """Aggregate convictions per person in SQL, then align them with the cases by person id."""
    agg = _conviction_sql(vendor)
    where = "v.convicted_on <= %s"
    if case_filter is not None:
        people = sorted({int(p) for p in person_ids})
        where += f" AND v.person_id IN ({', '.join(str(p) for p in people) or 'NULL'})"
    sql = (f"SELECT v.person_id, {', '.join(agg[n] for n in names)} FROM docket_conviction v "
           f"WHERE {where} GROUP BY v.person_id ORDER BY v.person_id")
    matrix = fetch_int_matrix(sql, [as_of if vendor == "postgresql" else as_of.isoformat()], len(names) + 1)
    found = matrix[:, 0]
    if len(found):
        pos = np.minimum(np.searchsorted(found, person_ids), len(found) - 1)
        has = found[pos] == person_ids
    else:
        pos, has = np.zeros(len(person_ids), dtype=np.int64), np.zeros(len(person_ids), dtype=bool)
    for i, name in enumerate(names):
        default = CONVICTION_DEFAULTS.get(name, 0)
        column = matrix[:, i + 1] if len(found) else np.zeros(1, dtype=np.int64)
        cols.values[name] = np.where(has, column[pos], default)
