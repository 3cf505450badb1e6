"""What every API router shares: authentication (tokens, or the browser session with CSRF), the
per-token rate limit, the role guard, bounded parameter types, the audited read; and the
auditor's router (``GET /audit/events``). See docs/api.md.
"""

import datetime as dt
import math
import time
from typing import Annotated

from django.conf import settings
from django.core.cache import cache
from django.http import JsonResponse
from ninja import Path, Query, Router
from ninja.errors import HttpError
from ninja.responses import NinjaJSONEncoder
from ninja.security import HttpBearer, SessionAuth
from ninja.throttling import BaseThrottle
from pydantic import AfterValidator, Field, StringConstraints

from caseload.core import audit
from caseload.core.errors import Forbidden
from caseload.core.schemas import AuditEventsOut, responses
from caseload.web.params import EARLIEST, LATEST

MAX_ID = 2**53  # ids fit a JSON number exactly and every database's integer column

# --- parameter types: bounded, so no generated value reaches the database unchecked ---------


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text may not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    return value


def text(max_length: int = 2000, *, min_length: int = 0):
    return Annotated[str, StringConstraints(max_length=max_length, min_length=min_length, pattern=r"^[^\x00]*$"),
                     AfterValidator(_no_nul)]


Text = text()
Day = Annotated[dt.date, Field(ge=EARLIEST, le=LATEST, description=f"a date between {EARLIEST} and {LATEST}",
                               json_schema_extra={"pattern": r"^(19\d\d|2\d\d\d)-\d\d-\d\d$"})]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Cursor = Annotated[int, Field(ge=0, le=MAX_ID, description="the next_after of the previous page (0: from the start)")]
Minutes = Annotated[int, Field(ge=0, le=24 * 60)]
Version = Annotated[int, Field(ge=0, le=MAX_ID, description="the case's version as read; a changed case answers 409 stale_case")]
A_NUMBER_PATTERN = r"^[Aa]?[0-9][0-9-]{0,11}$"
OFFICE_PATTERN = r"^[A-Za-z]{3}$"
OfficeCode = Annotated[str, StringConstraints(pattern=OFFICE_PATTERN)]


def path_id(description: str = ""):
    """A positive id in the URL path (bounded, so no value overflows a database integer)."""
    return Annotated[int, Path(ge=1, le=MAX_ID, description=description)]


# --- authentication ---------------------------------------------------------------------------


class TokenAuth(HttpBearer):
    """``Authorization: Bearer cl_…``: a personal token from ``caseload users token``. The request
    then acts as the token's user (``request.user``), with that user's role and scope."""

    def authenticate(self, request, token):
        from caseload.core.tokens import authenticate_token

        row = authenticate_token(token)
        if row is None:
            return None
        request.user = row.user
        request.api_token = row
        return row.user


class SignedInSession(SessionAuth):
    """The browser's signed-in session; unsafe methods need the CSRF token (``X-CSRFToken``)."""

    def __call__(self, request):
        if not request.user.is_authenticated:
            return None  # not signed in: 401, whatever the CSRF state
        try:
            return super().__call__(request)
        except HttpError as exc:  # ninja's HttpError(403) for a failed CSRF check
            if exc.status_code == 403:
                raise Forbidden("csrf_failed", "CSRF check failed: send the csrftoken cookie's value as X-CSRFToken") from None
            raise


AUTH = [TokenAuth(), SignedInSession()]


# --- rate limit ------------------------------------------------------------------------------

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``N/PERIOD`` with PERIOD one of s, m, h, d (e.g. ``600/m``) as (requests, seconds)."""
    count, _, period = (rate or "").partition("/")
    unit = period.strip()[:1].lower()
    if not count.strip().isdigit() or unit not in _PERIODS:
        raise ValueError(f"a rate is N/s, N/m, N/h or N/d, got {rate!r}")
    return int(count), _PERIODS[unit]


class TokenRateThrottle(BaseThrottle):
    """At most ``settings.API_RATE_LIMIT`` requests per token (per user for a session) in each
    fixed window, counted in Django's cache (``cache.incr``). Read per request, so the setting
    applies without a restart of the counter logic."""

    def allow_request(self, request) -> bool:
        limit, period = parse_rate(settings.API_RATE_LIMIT)
        token = getattr(request, "api_token", None)
        ident = f"token:{token.pk}" if token is not None else f"user:{request.user.pk}"
        window = int(time.time() // period)
        key = f"caseload:api-rate:{ident}:{period}:{window}"
        cache.add(key, 0, timeout=period + 1)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=period + 1)
            count = 1
        return count <= limit

    def wait(self) -> float:
        _, period = parse_rate(settings.API_RATE_LIMIT)
        return max(1.0, math.ceil(period - time.time() % period))


# --- roles and audited reads -----------------------------------------------------------------


def require_role(*roles: str):
    """Let the named roles through; another role gets 403 ``role_not_allowed``. The roles are kept
    on the function (``allowed_roles``), where the role × endpoint test reads them."""
    from caseload.core.access import role_guard

    return role_guard(roles, lambda role: Forbidden(
        "role_not_allowed", "this endpoint is not available to your role"
        + (f" ({role})" if role else " (your account has no role)")))


ALL_ROLES = ("officer", "supervisor", "hq_analyst", "auditor", "administrator")
NATIONAL_READERS = ("hq_analyst", "auditor", "administrator")
WRITERS = ("officer", "supervisor", "administrator")


def record_listed(request, rows: list[dict], *, action: str = "case.list", case_key: str = "case_id",
                  a_number_key: str = "a_number", office_id: int | None = None) -> None:
    """One audit event for the people's records a response shows (as the pages record theirs)."""
    shown = {int(r[case_key]): _digits(r[a_number_key]) for r in rows}
    audit.record_read(action=action, via=request.path, actor=request.user, case_ids=list(shown),
                      a_numbers=list(shown.values()), office_id=office_id)


def _digits(display: str) -> str:
    """The stored digits of an A-number as the services display it (``A123-456-789``)."""
    if len(display) == 12 and display[0] == "A" and display[4] == display[8] == "-":
        return display[1:4] + display[5:8] + display[9:12]
    from caseload.docket import anumber

    return anumber.normalize(display)


def document(doc, status: int = 200) -> JsonResponse:
    """A service's document answered as it is, without validating it again per request (the
    worklist of a busy officer has thousands of rows); tests/api/test_schema.py checks these
    answers against the schema like every other."""
    return JsonResponse(doc, status=status, encoder=NinjaJSONEncoder, safe=False)


# --- the auditor's router --------------------------------------------------------------------

router = Router(tags=["audit"])


@router.get("/audit/events", response=responses(AuditEventsOut), summary="The audit log, newest first (keyset pages)")
@require_role("auditor")
def audit_events(request,
                 actor: text(150) = Query("", description="actor label (user name or process)"),
                 action: text(80) = Query("", description="an action, or a prefix ending in '.'"),
                 a_number: text(20) = Query("", description="events naming this A-number"),
                 start: Annotated[Day | None, Query(alias="from")] = None,
                 end: Annotated[Day | None, Query(alias="to")] = None,
                 before: Annotated[Id | None, Query(description="the next_before of the previous page")] = None,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 100):
    """The events matching the filters, ``limit`` at a time; ``next_before`` fetches the next page."""
    if a_number:
        from caseload.docket import anumber

        a_number = anumber.check(a_number)
    page = audit.search_events(actor=actor, action=action, a_number=a_number, start=start, end=end, before=before,
                               limit=limit)
    return {"events": [{"id": e.pk, "occurred_at": e.occurred_at.isoformat(), "actor_label": e.actor_label,
                        "action": e.action, "object_type": e.object_type, "object_id": e.object_id,
                        "office_id": e.office_id, "details": e.details} for e in page["events"]],
            "next_before": page["next_before"]}
