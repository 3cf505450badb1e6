"""Evaluate a rule set: over NumPy fact columns (every case at once) or over one case's facts.

Both forms implement the same semantics (docs/policy.md, "How a rule set is applied"):

- rules are tried in file order; the first rule whose conditions all hold decides the level;
  no matching rule gives the ``default_level``;
- a condition on an unknown fact value (no entry date, no final order, …) never holds, whatever
  the operator: a rule can only fire on facts that are known.

:func:`evaluate_one` is plain Python over the values of :func:`caseload.policy.facts.case_facts`;
:func:`evaluate_columns` is NumPy over :func:`caseload.policy.facts.fact_columns`. The tests
check they agree case by case.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import numpy as np

from caseload.policy.facts import BOOL, DATE, ENUM, FACTS, NULL_DAY, NULL_INT, day_number
from caseload.policy.ruleset import Condition, Factor, Rule, RuleSetDoc

_COMPARE = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


# --------------------------------------------------------------------------------------------
# One case


def holds(cond: Condition, facts: dict) -> bool:
    value = facts[cond.fact]
    if value is None:
        return False
    if cond.op == "in":
        return value in cond.value
    if cond.op == "not in":
        return value not in cond.value
    return bool(_COMPARE[cond.op](value, cond.value))


@dataclass(frozen=True)
class Outcome:
    level: str
    rule: Rule | None  # None: no rule matched, the default level applies
    factors: tuple[Factor, ...]


def evaluate_one(doc: RuleSetDoc, facts: dict) -> Outcome:
    rule = next((r for r in doc.rules if all(holds(c, facts) for c in r.when)), None)
    factors = tuple(f for f in doc.factors if all(holds(c, facts) for c in f.when))
    return Outcome(rule.level if rule else doc.default_level, rule, factors)


# --------------------------------------------------------------------------------------------
# Every case


def _encode(fact_name: str, value):
    fact = FACTS[fact_name]
    if fact.kind == DATE:
        return day_number(value)
    if fact.kind == ENUM:
        return fact.choices.index(value)
    return value


def _known(fact_name: str, column: np.ndarray) -> np.ndarray | None:
    """Mask of rows where the fact is known (None: always known)."""
    kind = FACTS[fact_name].kind
    if kind == BOOL:
        return None
    if kind == DATE:
        return column != NULL_DAY
    if kind == ENUM:
        return column >= 0
    return column != NULL_INT


def condition_mask(cond: Condition, columns: dict[str, np.ndarray]) -> np.ndarray:
    column = columns[cond.fact]
    if cond.op in ("in", "not in"):
        mask = np.isin(column, [_encode(cond.fact, v) for v in cond.value])
        if cond.op == "not in":
            mask = ~mask
    else:
        mask = _COMPARE[cond.op](column, _encode(cond.fact, cond.value))
    known = _known(cond.fact, column)
    return mask if known is None else mask & known


def evaluate_columns(doc: RuleSetDoc, columns: dict[str, np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """(level index per case, deciding rule index per case or -1 for the default level)."""
    codes = doc.level_codes()
    level = np.full(n, codes.index(doc.default_level), dtype=np.int64)
    rule_index = np.full(n, -1, dtype=np.int64)
    open_rows = np.ones(n, dtype=bool)
    for i, rule in enumerate(doc.rules):
        mask = open_rows.copy()
        for cond in rule.when:
            mask &= condition_mask(cond, columns)
        level[mask] = codes.index(rule.level)
        rule_index[mask] = i
        open_rows &= ~mask
    return level, rule_index
