"""Rule-set files are bounded: size, nesting depth and the length of an ``in`` list."""

from __future__ import annotations

import pytest

from caseload.policy import ruleset
from caseload.policy.documents import InvalidDocument

SHIPPED = ruleset.__file__.replace("ruleset.py", "data/rule_sets/pep-2014.toml")


def shipped_text() -> str:
    with open(SHIPPED, encoding="utf-8") as fh:
        return fh.read()


def refused(text: str) -> list[str]:
    with pytest.raises(InvalidDocument) as err:
        ruleset.parse_rule_set(text, file="x.toml")
    return [p.message for p in err.value.problems]


def test_the_shipped_file_is_within_every_bound():
    text = shipped_text()
    assert len(text.encode()) < ruleset.MAX_FILE_BYTES
    assert ruleset.nesting_depth(text)[0] <= ruleset.MAX_NESTING
    assert ruleset.parse_rule_set(text, file="pep-2014.toml").rules


def test_a_file_over_1_mib_is_refused_before_parsing():
    text = shipped_text() + "\n# " + "x" * ruleset.MAX_FILE_BYTES + "\n"
    assert refused(text) == [f"the file is {len(text.encode()):,} bytes; a rule set may have at most 1,048,576 bytes (1 MiB)"]


@pytest.mark.parametrize("depth", [33, 500, 100_000])
def test_nesting_deeper_than_32_is_refused_not_a_recursion_error(depth):
    text = shipped_text() + "\nextra = " + "[" * depth + "1" + "]" * depth + "\n"
    lines = shipped_text().count("\n") + 2
    with pytest.raises(InvalidDocument) as err:
        ruleset.parse_rule_set(text, file="x.toml")
    (problem,) = err.value.problems
    assert problem.message == "values nested 33 deep; a rule set may nest arrays and inline tables at most 32 deep"
    assert problem.line == lines


def test_nesting_of_32_passes_the_bound_and_brackets_in_strings_and_comments_do_not_count():
    text = 'a = "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["  # {{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{\n' \
           "b = '''\n" + "[" * 40 + "\n'''\n" + "c = " + "[" * 32 + "]" * 32 + "\n"
    assert ruleset.nesting_depth(text) == (32, 3 + 2)


def with_in_list(n: int) -> str:
    from caseload.policy.facts import FACTS

    choice = FACTS["entry_manner"].choices[0]
    values = ", ".join([f'"{choice}"'] * n)
    return shipped_text() + f"""
[[rules]]
reason = "bounded_list"
level = "P3"
label = "a rule with a long in-list"
cite = "test"
when = [{{ fact = "entry_manner", op = "in", value = [{values}] }}]
"""


def test_an_in_list_over_10000_values_is_refused_with_its_size():
    assert "operator 'in' takes at most 10,000 values; got 10,001" in refused(with_in_list(10_001))
    assert ruleset.parse_rule_set(with_in_list(10_000), file="x.toml").rules[-1].reason == "bounded_list"
