"""Officer activity types (``data/activities.toml``)."""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

_FILE = Path(__file__).with_name("data") / "activities.toml"


@dataclass(frozen=True)
class Activity:
    code: str
    label: str
    collateral: bool
    default_minutes: int
    mean_minutes: float
    sigma: float


@functools.cache
def activities() -> dict[str, Activity]:
    with _FILE.open("rb") as fh:
        raw = tomllib.load(fh)["activities"]
    return {code: Activity(code=code, **spec) for code, spec in raw.items()}


def choices() -> list[tuple[str, str]]:
    return [(a.code, a.label) for a in activities().values()]
