"""Query-string parameters of pages, parsed once: a bad value is a UsageError (HTTP 400 page)."""

from __future__ import annotations

import datetime as dt

from caseload.core.errors import UsageError

EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2999, 12, 31)


def date_param(request, name: str, default: dt.date | None = None) -> dt.date | None:
    """An ISO date between 1900-01-01 and 2999-12-31 (so date arithmetic on it cannot overflow)."""
    raw = request.GET.get(name, "").strip()
    if not raw:
        return default
    try:
        value = dt.date.fromisoformat(raw)
    except ValueError:
        raise UsageError("invalid_date", f"{name} must be a date as YYYY-MM-DD, got {raw!r}") from None
    if not EARLIEST <= value <= LATEST:
        raise UsageError("invalid_date", f"{name} must be between {EARLIEST} and {LATEST}, got {raw!r}")
    return value


def int_param(request, name: str, default: int | None = None, *, minimum: int = 0, maximum: int = 10**15) -> int | None:
    raw = request.GET.get(name, "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.lstrip("-").isdigit() or len(raw) > 18 or not minimum <= int(raw) <= maximum:
        raise UsageError("invalid_number", f"{name} must be a whole number from {minimum} to {maximum}, got {raw!r}")
    return int(raw)
