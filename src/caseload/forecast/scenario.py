"""Forecast scenario files (docs/forecast.md, "Scenario files"): TOML, checked with every problem
listed (file, line where it can be found, field, message) before anything runs.

This module imports no Django model: the caller passes what the database knows (office codes,
country codes, installed rule sets), so the checks are plain Python.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from caseload.policy.documents import ID_PATTERN, Checker, InvalidDocument, parse_toml

DEFAULTS_FILE = Path(__file__).with_name("data") / "defaults.toml"
EXAMPLE_FILE = Path(__file__).with_name("data") / "scenario_example.toml"
TIERS = ("cooperative", "delayed", "restricted", "uncooperative")
WEIGHT_KINDS = ("measured", "adjusted")
TOP_KEYS = ("id", "title", "description", "weights", "rule_set", "hires", "inflow", "tier_changes",
            "rates", "removals", "officers", "uncertainty")
HIRE_KEYS = ("office", "month", "count")
INFLOW_KEYS = ("multiplier", "office", "from_month", "to_month")
TIER_KEYS = ("country", "tier", "month", "quota")
MAX_MONTH = 600


@functools.cache
def defaults() -> dict:
    with DEFAULTS_FILE.open("rb") as fh:
        return tomllib.load(fh)


@dataclass(frozen=True)
class Hire:
    office: str
    month: int
    count: int


@dataclass(frozen=True)
class InflowChange:
    multiplier: float
    office: str | None
    from_month: int
    to_month: int | None

    def applies(self, office: str, month: int) -> bool:
        return ((self.office is None or self.office == office) and month >= self.from_month
                and (self.to_month is None or month <= self.to_month))


@dataclass(frozen=True)
class TierChange:
    country: str
    tier: str
    month: int
    quota: int | None


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    file: str
    description: str = ""
    weights: str = "measured"
    rule_set: str | None = None
    hires: tuple[Hire, ...] = ()
    inflow: tuple[InflowChange, ...] = ()
    tier_changes: tuple[TierChange, ...] = ()
    overrides: dict = field(default_factory=dict)   # section -> {name: value}, over defaults.toml

    def parameters(self) -> dict:
        """defaults.toml with this scenario's overrides applied."""
        params = {section: dict(values) for section, values in defaults().items()}
        for section, values in self.overrides.items():
            params[section].update(values)
        return params


BASELINE = Scenario(id="baseline", title="Today's docket and rates, no hires, no changes", file="")


@dataclass(frozen=True)
class Known:
    """What the database knows, for the checks that name offices, countries and rule sets."""

    offices: frozenset[str]
    countries: frozenset[str]
    rule_sets: frozenset[str]


def parse_scenario(text: str, *, file: str, known: Known) -> Scenario:
    """Check a scenario file and return it; raise InvalidDocument listing every problem."""
    data, checker = parse_toml(text, file)
    checker.unknown_keys(data, TOP_KEYS, "")
    ident = checker.text(data, "id", what="identifier")
    if ident and not ID_PATTERN.match(ident):
        checker.add("id", "must be 1-64 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
                    key="id")
    title = checker.text(data, "title", what="title", max_length=300)
    description = checker.text(data, "description", required=False)
    weights = data.get("weights", "measured")
    if weights not in WEIGHT_KINDS:
        checker.add("weights", f"must be one of {', '.join(WEIGHT_KINDS)}, got {weights!r}", key="weights")
    rule_set = data.get("rule_set")
    if rule_set is not None and (not isinstance(rule_set, str) or rule_set not in known.rule_sets):
        installed = ", ".join(sorted(known.rule_sets)) or "none"
        checker.add("rule_set", f"no installed priority rule set {rule_set!r} (installed: {installed})", key="rule_set")
    hires = _hires(data, checker, known)
    inflow = _inflow(data, checker, known)
    tiers = _tier_changes(data, checker, known)
    overrides = _overrides(data, checker)
    checker.refuse_if_any()
    return Scenario(id=ident, title=title, file=file, description=description, weights=weights, rule_set=rule_set,
                    hires=tuple(hires), inflow=tuple(inflow), tier_changes=tuple(tiers), overrides=overrides)


def _tables(data: dict, key: str, checker: Checker) -> list[dict]:
    items = data.get(key, [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        checker.add(key, f"must be an array of tables ([[{key}]])", key=key)
        return []
    return items


def _int(item: dict, key: str, path: str, checker: Checker, table: str, index: int, *, low: int, high: int,
         required: bool = True) -> int | None:
    value = item.get(key)
    if value is None:
        if required:
            checker.add(f"{path}.{key}", "missing", table=table, index=index)
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        checker.add(f"{path}.{key}", f"must be a whole number from {low} to {high}, got {value!r}",
                    table=table, index=index, key=key)
        return None
    return value


def _office(item: dict, path: str, checker: Checker, known: Known, table: str, index: int, *,
            required: bool) -> str | None:
    value = item.get("office")
    if value is None:
        if required:
            checker.add(f"{path}.office", "missing field office code", table=table, index=index)
        return None
    if not isinstance(value, str) or value not in known.offices:
        checker.add(f"{path}.office", f"unknown field office {value!r}", table=table, index=index, key="office")
        return None
    return value


def _hires(data: dict, checker: Checker, known: Known) -> list[Hire]:
    out = []
    for i, item in enumerate(_tables(data, "hires", checker)):
        path = f"hires[{i}]"
        checker.unknown_keys(item, HIRE_KEYS, f"{path}.", table="hires", index=i)
        office = _office(item, path, checker, known, "hires", i, required=True)
        month = _int(item, "month", path, checker, "hires", i, low=1, high=MAX_MONTH)
        count = _int(item, "count", path, checker, "hires", i, low=0, high=10_000)
        if office and month and count is not None:
            out.append(Hire(office, month, count))
    return out


def _inflow(data: dict, checker: Checker, known: Known) -> list[InflowChange]:
    out = []
    for i, item in enumerate(_tables(data, "inflow", checker)):
        path = f"inflow[{i}]"
        checker.unknown_keys(item, INFLOW_KEYS, f"{path}.", table="inflow", index=i)
        value = item.get("multiplier")
        ok = True
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
            checker.add(f"{path}.multiplier", f"must be a number from 0 to 100, got {value!r}", table="inflow", index=i,
                        key="multiplier" if value is not None else None)
            ok = False
        office = _office(item, path, checker, known, "inflow", i, required=False)
        ok = ok and (office is not None or item.get("office") is None)
        start = _int(item, "from_month", path, checker, "inflow", i, low=1, high=MAX_MONTH, required=False)
        end = _int(item, "to_month", path, checker, "inflow", i, low=1, high=MAX_MONTH, required=False)
        if start is not None and end is not None and end < start:
            checker.add(f"{path}.to_month", f"must not be before from_month ({start})", table="inflow", index=i, key="to_month")
            ok = False
        if ok and (start is not None or item.get("from_month") is None) and (end is not None or item.get("to_month") is None):
            out.append(InflowChange(float(value), office, start or 1, end))
    return out


def _tier_changes(data: dict, checker: Checker, known: Known) -> list[TierChange]:
    out = []
    seen: set[tuple[str, int]] = set()
    for i, item in enumerate(_tables(data, "tier_changes", checker)):
        path = f"tier_changes[{i}]"
        checker.unknown_keys(item, TIER_KEYS, f"{path}.", table="tier_changes", index=i)
        country = item.get("country")
        if not isinstance(country, str) or country not in known.countries:
            checker.add(f"{path}.country", f"unknown country {country!r} (ISO 3166-1 alpha-2 code, e.g. CN)",
                        table="tier_changes", index=i, key="country" if country is not None else None)
            country = None
        tier = item.get("tier")
        if tier not in TIERS:
            checker.add(f"{path}.tier", f"must be one of {', '.join(TIERS)}, got {tier!r}", table="tier_changes", index=i,
                        key="tier" if tier is not None else None)
            tier = None
        month = _int(item, "month", path, checker, "tier_changes", i, low=1, high=MAX_MONTH)
        quota = _int(item, "quota", path, checker, "tier_changes", i, low=0, high=10_000_000, required=False)
        if quota is not None and tier != "restricted":
            checker.add(f"{path}.quota", "a quota belongs to the restricted tier only", table="tier_changes", index=i, key="quota")
        if tier == "restricted" and quota is None and item.get("quota") is None:
            checker.add(f"{path}.quota", "a change to the restricted tier needs the annual quota", table="tier_changes", index=i)
        if country and month:
            if (country, month) in seen:
                checker.add(f"{path}", f"{country} changes tier twice in month {month}", table="tier_changes", index=i)
            seen.add((country, month))
        if country and tier and month and (tier != "restricted" or quota is not None):
            out.append(TierChange(country, tier, month, quota))
    out.sort(key=lambda c: (c.month, c.country))
    return out


def _overrides(data: dict, checker: Checker) -> dict:
    """[rates], [removals], [officers], [uncertainty]: each key must exist in defaults.toml and
    hold a value of the same kind (probabilities within [0, 1])."""
    out: dict = {}
    base = defaults()
    for section in ("rates", "removals", "officers", "uncertainty"):
        values = data.get(section)
        if values is None:
            continue
        if not isinstance(values, dict):
            checker.add(section, f"must be a table ([{section}])", key=section)
            continue
        checker.unknown_keys(values, base[section], f"{section}.", table=section)
        for key, value in values.items():
            if key not in base[section]:
                continue
            problem = _value_problem(section, key, value, base[section][key])
            if problem:
                checker.add(f"{section}.{key}", problem, table=section, key=key)
            else:
                out.setdefault(section, {})[key] = value
    return out


def _value_problem(section: str, key: str, value: object, default: object) -> str | None:
    if isinstance(default, list):
        if (not isinstance(value, list) or len(value) != len(default)
                or not all(isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in value)):
            return f"must be a list of {len(default)} numbers ≥ 0"
        return None
    if isinstance(default, int) and not isinstance(default, bool):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            return f"must be a whole number ≥ 1, got {value!r}"
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return f"must be a number ≥ 0, got {value!r}"
    probability = section == "rates" or key in ("pursued_per_month", "attrition_per_year", "quota_share")
    if probability and value > 1:
        return f"must be a probability from 0 to 1, got {value!r}"
    return None


def read_scenario(path: Path, known: Known) -> Scenario:
    """Read and check a scenario file; InvalidDocument lists every problem."""
    text = path.read_text(encoding="utf-8")
    return parse_scenario(text, file=str(path), known=known)


__all__ = ["BASELINE", "EXAMPLE_FILE", "Hire", "InflowChange", "InvalidDocument", "Known", "Scenario", "TierChange",
           "defaults", "parse_scenario", "read_scenario"]
