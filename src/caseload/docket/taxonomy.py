"""The offense taxonomy (``data/offense_taxonomy.toml``, documented in docs/offense-taxonomy.md)."""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

_FILE = Path(__file__).with_name("data") / "offense_taxonomy.toml"


@dataclass(frozen=True)
class OffenseCategory:
    code: str
    label: str
    felony_share: float
    aggravated_share: float
    weight: float
    significant_misdemeanor: bool = False
    minor_traffic: bool = False
    status_offense: bool = False


@functools.cache
def categories() -> dict[str, OffenseCategory]:
    with _FILE.open("rb") as fh:
        raw = tomllib.load(fh)["categories"]
    return {code: OffenseCategory(code=code, **spec) for code, spec in raw.items()}


def choices() -> list[tuple[str, str]]:
    return [(c.code, c.label) for c in categories().values()]
