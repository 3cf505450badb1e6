"""The one source of "now" and "today".

Tests and replays set the clock with :func:`frozen`; production code never calls
``date.today()`` or ``timezone.now()`` directly.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

from django.utils import timezone

_frozen: dt.datetime | None = None


def now() -> dt.datetime:
    """Aware current datetime (UTC), or the frozen instant."""
    return _frozen if _frozen is not None else timezone.now()


def today() -> dt.date:
    return now().date()


@contextlib.contextmanager
def frozen(at: dt.datetime | dt.date) -> Iterator[None]:
    """Freeze the clock at ``at`` (a date means midnight UTC) for the duration of the block."""
    global _frozen
    if isinstance(at, dt.date) and not isinstance(at, dt.datetime):
        at = dt.datetime.combine(at, dt.time(), tzinfo=dt.UTC)
    if timezone.is_naive(at):
        raise ValueError("frozen() needs an aware datetime")
    previous, _frozen = _frozen, at
    try:
        yield
    finally:
        _frozen = previous
