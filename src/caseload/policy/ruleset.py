"""The priority rule-set file format (docs/policy.md, "Rule-set files").

A rule set is a TOML file: identity, source citation and effective period (see
:mod:`caseload.policy.documents`), ordered ``[[levels]]`` (the first is the most urgent; rank =
position), a ``default_level`` for cases no rule matches, ordered ``[[rules]]`` (the first rule
whose conditions all hold decides the level) and optional ``[[factors]]`` (aggravating or
mitigating circumstances listed by ``explain``; they never change the level).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from caseload.policy.documents import (HEADER_KEYS, Checker, Header, InvalidDocument, Problem, as_date, check_header,
                                       parse_toml)
from caseload.policy.facts import ALL_OPERATORS, BOOL, DATE, ENUM, FACTS, INT, OPERATORS

LEVEL_CODE_MAX = 24  # Case.priority
# Bounds on what a rule-set file may hold (docs/policy.md): refused with a clear reason, never
# a parser's recursion error or an unbounded list held in memory and in the database.
MAX_FILE_BYTES = 1 << 20      # 1 MiB
MAX_NESTING = 32              # arrays and inline tables inside one another
MAX_IN_VALUES = 10_000        # values of one "in" / "not in" list
CODE_PATTERN_HELP = "1-24 characters: letters, digits, '_' or '-'"
FACTOR_KINDS = ("aggravating", "mitigating")
EXCEPTION_RULE = "fdo_exception"  # the ``rule`` reported when a director's exception decides the level


@dataclass(frozen=True)
class Condition:
    fact: str
    op: str
    value: Any  # bool, int, date, str, or a tuple of those for "in" / "not in"

    def describe(self) -> str:
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return f"{self.fact} {self.op} {value}"


@dataclass(frozen=True)
class Level:
    code: str
    label: str


@dataclass(frozen=True)
class Rule:
    reason: str
    level: str
    label: str
    cite: str
    assessment: bool
    when: tuple[Condition, ...]


@dataclass(frozen=True)
class Factor:
    code: str
    kind: str
    label: str
    cite: str
    when: tuple[Condition, ...]


@dataclass(frozen=True)
class RuleSetDoc:
    header: Header
    levels: tuple[Level, ...]
    default_level: str
    rules: tuple[Rule, ...]
    factors: tuple[Factor, ...]

    @property
    def id(self) -> str:
        return self.header.id

    def level_codes(self) -> list[str]:
        return [lv.code for lv in self.levels]

    def rank(self, code: str) -> int:
        """1 for the most urgent level."""
        return self.level_codes().index(code) + 1

    def level_label(self, code: str) -> str:
        return next(lv.label for lv in self.levels if lv.code == code)

    def facts_used(self) -> set[str]:
        """Facts named by rules and factors (what ``explain`` shows)."""
        return {c.fact for item in (*self.rules, *self.factors) for c in item.when}

    def rule_facts(self) -> set[str]:
        """Facts that decide the level (what ``reclassify`` reads)."""
        return {c.fact for rule in self.rules for c in rule.when}


TOP_KEYS = (*HEADER_KEYS, "levels", "default_level", "rules", "factors")
LEVEL_KEYS = ("code", "label")
RULE_KEYS = ("reason", "level", "label", "cite", "assessment", "when")
FACTOR_KEYS = ("code", "kind", "label", "cite", "when")
CONDITION_KEYS = ("fact", "op", "value")


REASON_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def _code_ok(code: str) -> bool:
    return bool(code) and len(code) <= LEVEL_CODE_MAX and all(ch.isalnum() or ch in "_-" for ch in code)


def parse_rule_set(text: str, *, file: str = "<rule set>") -> RuleSetDoc:
    """Check a rule-set file and return it parsed; raise InvalidDocument listing every problem."""
    check_bounds(text, file=file)
    data, checker = parse_toml(text, file)
    checker.unknown_keys(data, TOP_KEYS, "")
    header = check_header(data, checker)
    levels = _levels(data, checker)
    codes = [lv.code for lv in levels]
    default = checker.text(data, "default_level", what="default level (the level of cases no rule matches)")
    if default and codes and default not in codes:
        checker.add("default_level", f"unknown level {default!r} (levels: {', '.join(codes)})", key="default_level")
    rules = _rules(data, checker, codes)
    factors = _factors(data, checker)
    checker.refuse_if_any(header)
    return RuleSetDoc(header, tuple(levels), default, tuple(rules), tuple(factors))


def check_bounds(text: str, *, file: str) -> None:
    """Refuse a file over :data:`MAX_FILE_BYTES` or nested deeper than :data:`MAX_NESTING`
    before the TOML parser sees it (the parser recurses once per level)."""
    size = len(text.encode("utf-8"))
    if size > MAX_FILE_BYTES:
        raise InvalidDocument([Problem(file, None, "", f"the file is {size:,} bytes; a rule set may have at most "
                                                       f"{MAX_FILE_BYTES:,} bytes (1 MiB)")])
    depth, line = nesting_depth(text)
    if depth > MAX_NESTING:
        raise InvalidDocument([Problem(file, line, "", f"values nested {depth} deep; a rule set may nest arrays and "
                                                       f"inline tables at most {MAX_NESTING} deep")])


def nesting_depth(text: str) -> tuple[int, int | None]:
    """(deepest nesting of [ ] and { } outside strings and comments, the line where it is first
    reached; it stops counting once past :data:`MAX_NESTING`). Table headers count too: ``[[rule]]`` is 2."""
    depth = deepest = 0
    where = None
    line = 1
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\n":
            line += 1
        elif ch == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif ch in "\"'":
            quote = text[i:i + 3] if text[i:i + 3] in ('"""', "'''") else ch
            j = i + len(quote)
            while j < n and text[j:j + len(quote)] != quote:
                if ch == '"' and text[j] == "\\":
                    j += 1
                elif text[j] == "\n" and len(quote) == 1:
                    break  # an unterminated one-line string: the parser reports it
                j += 1
            line += text.count("\n", i, j)
            i = j + len(quote)
            continue
        elif ch in "[{":
            depth += 1
            if depth > deepest:
                deepest, where = depth, line
                if deepest > MAX_NESTING:
                    return deepest, where
        elif ch in "]}":
            depth = max(0, depth - 1)
        i += 1
    return deepest, where


def _table_list(data: dict, key: str, checker: Checker, *, required: bool) -> list[dict]:
    items = data.get(key)
    if items is None:
        if required:
            checker.add(key, f"missing: add at least one [[{key}]] table")
        return []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        checker.add(key, f"must be an array of tables ([[{key}]])", key=key)
        return []
    if required and not items:
        checker.add(key, f"needs at least one [[{key}]] table", key=key)
    return items


def _levels(data: dict, checker: Checker) -> list[Level]:
    levels: list[Level] = []
    seen: set[str] = set()
    for i, item in enumerate(_table_list(data, "levels", checker, required=True)):
        prefix = f"levels[{i}]."
        checker.unknown_keys(item, LEVEL_KEYS, prefix, table="levels", index=i)
        code = checker.text(item, "code", prefix, table="levels", index=i, what="level code")
        label = checker.text(item, "label", prefix, table="levels", index=i, what="label")
        if code and not _code_ok(code):
            checker.add(f"{prefix}code", f"level code must be {CODE_PATTERN_HELP}", table="levels", index=i, key="code")
        if code in seen:
            checker.add(f"{prefix}code", f"duplicate level {code!r}", table="levels", index=i, key="code")
        seen.add(code)
        levels.append(Level(code, label))
    return levels


def _rules(data: dict, checker: Checker, codes: list[str]) -> list[Rule]:
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, item in enumerate(_table_list(data, "rules", checker, required=True)):
        prefix = f"rules[{i}]."
        checker.unknown_keys(item, RULE_KEYS, prefix, table="rules", index=i)
        reason = checker.text(item, "reason", prefix, table="rules", index=i, what="reason code")
        if reason and not REASON_PATTERN.match(reason):
            checker.add(f"{prefix}reason", "reason code must be 1-64 letters, digits, '_', '-' or '.'",
                        table="rules", index=i, key="reason")
        if reason in seen:
            checker.add(f"{prefix}reason", f"duplicate reason code {reason!r}", table="rules", index=i, key="reason")
        seen.add(reason)
        level = checker.text(item, "level", prefix, table="rules", index=i, what="level")
        if level and codes and level not in codes:
            checker.add(f"{prefix}level", f"unknown level {level!r} (levels: {', '.join(codes)})", table="rules", index=i, key="level")
        label = checker.text(item, "label", prefix, table="rules", index=i, what="label")
        cite = checker.text(item, "cite", prefix, table="rules", index=i, required=False)
        assessment = item.get("assessment", False)
        if not isinstance(assessment, bool):
            checker.add(f"{prefix}assessment", "must be true or false", table="rules", index=i, key="assessment")
            assessment = False
        when = _conditions(item, checker, prefix, "rules", i)
        rules.append(Rule(reason, level, label, cite, assessment, when))
    return rules


def _factors(data: dict, checker: Checker) -> list[Factor]:
    factors: list[Factor] = []
    for i, item in enumerate(_table_list(data, "factors", checker, required=False)):
        prefix = f"factors[{i}]."
        checker.unknown_keys(item, FACTOR_KEYS, prefix, table="factors", index=i)
        code = checker.text(item, "code", prefix, table="factors", index=i, what="factor code")
        kind = checker.text(item, "kind", prefix, table="factors", index=i, what="kind")
        if kind and kind not in FACTOR_KINDS:
            checker.add(f"{prefix}kind", f"must be one of {', '.join(FACTOR_KINDS)}", table="factors", index=i, key="kind")
        label = checker.text(item, "label", prefix, table="factors", index=i, what="label")
        cite = checker.text(item, "cite", prefix, table="factors", index=i, required=False)
        factors.append(Factor(code, kind, label, cite, _conditions(item, checker, prefix, "factors", i)))
    return factors


def _conditions(item: dict, checker: Checker, prefix: str, table: str, index: int) -> tuple[Condition, ...]:
    raw = item.get("when")
    if raw is None:
        checker.add(f"{prefix}when", "missing conditions (when = [{ fact = …, op = …, value = … }])", table=table, index=index)
        return ()
    if not isinstance(raw, list) or not raw or not all(isinstance(c, dict) for c in raw):
        checker.add(f"{prefix}when", "must be a non-empty list of { fact, op, value } tables", table=table, index=index, key="when")
        return ()
    out = []
    for j, cond in enumerate(raw):
        path = f"{prefix}when[{j}]."
        locate = {"table": table, "index": index, "key": "when"}
        for key in sorted(set(cond) - set(CONDITION_KEYS)):
            checker.add(f"{path}{key}", f"unknown key {key!r} (allowed: fact, op, value)", **locate, text=key)
        name, op = cond.get("fact"), cond.get("op")
        fact = FACTS.get(name) if isinstance(name, str) else None
        if fact is None:
            checker.add(f"{path}fact", f"unknown fact {name!r} (see docs/policy.md for the facts)", **locate,
                        text=f'"{name}"' if isinstance(name, str) else None)
        if not isinstance(op, str) or op not in ALL_OPERATORS:
            checker.add(f"{path}op", f"bad operator {op!r} (operators: {', '.join(ALL_OPERATORS)})", **locate,
                        text=f'"{op}"' if isinstance(op, str) else None)
            continue
        if "value" not in cond:
            checker.add(f"{path}value", "missing value", **locate, text=f'"{name}"' if isinstance(name, str) else None)
            continue
        if fact is None:
            continue
        if op not in OPERATORS[fact.kind]:
            checker.add(f"{path}op", f"operator {op!r} does not apply to {fact.kind} fact {fact.name!r} "
                                     f"(use {', '.join(OPERATORS[fact.kind])})", **locate, text=f'"{op}"')
            continue
        if op in ("in", "not in") and isinstance(cond["value"], list) and len(cond["value"]) > MAX_IN_VALUES:
            checker.add(f"{path}value", f"operator {op!r} takes at most {MAX_IN_VALUES:,} values; got "
                                        f"{len(cond['value']):,}", **locate, text=f'"{fact.name}"')
            continue
        value = _value(cond["value"], fact, op)
        if value is None:
            checker.add(f"{path}value", _value_help(fact, op, cond["value"]), **locate, text=f'"{fact.name}"')
            continue
        out.append(Condition(fact.name, op, value))
    return tuple(out)


def _scalar(raw: Any, fact) -> Any:
    if fact.kind == BOOL:
        return raw if isinstance(raw, bool) else None
    if fact.kind == INT:
        return raw if isinstance(raw, int) and not isinstance(raw, bool) else None
    if fact.kind == DATE:
        return as_date(raw)
    if fact.kind == ENUM:
        return raw if isinstance(raw, str) and raw in fact.choices else None
    return None


def _value(raw: Any, fact, op: str) -> Any:
    if op in ("in", "not in"):
        if not isinstance(raw, list) or not raw:
            return None
        values = [_scalar(v, fact) for v in raw]
        return None if any(v is None for v in values) else tuple(values)
    return _scalar(raw, fact)


def _value_help(fact, op: str, raw: Any) -> str:
    expected = {BOOL: "true or false", INT: "a whole number", DATE: "a date as YYYY-MM-DD",
                ENUM: "one of " + ", ".join(repr(c) for c in fact.choices)}[fact.kind]
    if op in ("in", "not in"):
        return f"operator {op!r} needs a non-empty list; each value {expected}; got {raw!r}"
    return f"value for {fact.name!r} must be {expected}; got {raw!r}"


def condition_as_json(cond: Condition) -> dict:
    value = cond.value
    if isinstance(value, tuple):
        value = [v.isoformat() if isinstance(v, dt.date) else v for v in value]
    elif isinstance(value, dt.date):
        value = value.isoformat()
    return {"fact": cond.fact, "op": cond.op, "value": value}
