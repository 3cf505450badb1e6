"""Map citizenship names as written in ICE extracts to ISO 3166-1 alpha-2 codes."""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path

import pycountry

_ALIASES_FILE = Path(__file__).with_name("data") / "aliases.toml"


@functools.cache
def aliases() -> dict[str, str]:
    with _ALIASES_FILE.open("rb") as fh:
        return {k.upper(): v for k, v in tomllib.load(fh)["aliases"].items()}


@functools.cache
def to_alpha2(name: str) -> str | None:
    """ISO alpha-2 for an extract's citizenship name, or None when it has no current code."""
    key = " ".join(name.strip().upper().split())
    if not key:
        return None
    if key in aliases():
        return aliases()[key]
    try:
        return pycountry.countries.lookup(key).alpha_2
    except LookupError:
        return None
