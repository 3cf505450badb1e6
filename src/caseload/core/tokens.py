"""Personal API tokens: issued once, stored only as a digest, revocable (docs/api.md).

A token reads ``cl_<prefix>_<secret>``: ``prefix`` (8 random URL-safe characters) is stored in
clear and finds the row; ``secret`` carries 256 bits from :mod:`secrets`. The row keeps the
SHA-256 digest of the whole token, never the token itself. A token of that entropy needs no
slow password hash (nothing can be guessed, so nothing needs slowing down); the digests are
compared with :func:`hmac.compare_digest`, in constant time. A token acts as its user, with
the user's role and scope; it stops working when it expires, is revoked, or the user is
deactivated.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from django.db import transaction

from caseload.core import audit, clock
from caseload.core.errors import NotFound, UsageError
from caseload.core.models import ApiToken
from caseload.core.users import access_user

PREFIX = "cl_"
MAX_EXPIRES_DAYS = 3650
# last_used_at is written at most this often per token, so a busy client does not write a row per request.
LAST_USED_RESOLUTION = dt.timedelta(minutes=5)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _status(token: ApiToken, now: dt.datetime) -> str:
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    return "active"


def token_row(token: ApiToken, now: dt.datetime | None = None) -> dict:
    """A token as the command line and the API list it (never the secret, which is not kept)."""
    def iso(value):
        return value.isoformat() if value else None

    return {"id": token.pk, "prefix": token.prefix, "created_at": iso(token.created_at),
            "expires_at": iso(token.expires_at), "last_used_at": iso(token.last_used_at),
            "revoked_at": iso(token.revoked_at), "status": _status(token, now or clock.now())}


def do_issue_token(*, username: str, expires_days: int | None = None, actor=None, actor_label: str | None = None) -> dict:
    """Issue a token for ``username``; the returned document holds the token, shown this once."""
    if expires_days is not None and not 1 <= expires_days <= MAX_EXPIRES_DAYS:
        raise UsageError("invalid_expires_days", f"--expires-days must be between 1 and {MAX_EXPIRES_DAYS}, got {expires_days}")
    user = access_user(username)
    if not user.is_active:
        raise UsageError("inactive_user", f"user {username!r} is deactivated")
    now = clock.now()
    with transaction.atomic():
        while True:
            prefix = secrets.token_urlsafe(6)
            if "_" not in prefix and not ApiToken.objects.filter(prefix=prefix).exists():
                break
        token = f"{PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        row = ApiToken.objects.create(user=user, prefix=prefix, digest=_digest(token), created_at=now,
                                      expires_at=now + dt.timedelta(days=expires_days) if expires_days else None)
        audit.record(action="api_token.issued", actor=actor, actor_label=actor_label, object_type="user",
                     object_id=user.pk, details={"username": user.username, "token_id": row.pk, "prefix": prefix,
                                                 "expires_at": row.expires_at.isoformat() if row.expires_at else None})
    return {"username": user.username, **token_row(row, now), "token": token}


def list_tokens(username: str) -> list[dict]:
    user = access_user(username)
    now = clock.now()
    return [token_row(t, now) for t in ApiToken.objects.filter(user=user).order_by("id")]


def do_revoke_token(*, username: str, token_id: int, actor=None, actor_label: str | None = None) -> dict:
    """Revoke one of the user's tokens (at once: the next request with it is refused)."""
    user = access_user(username)
    with transaction.atomic():
        row = ApiToken.objects.select_for_update().filter(user=user, pk=token_id).first()
        if row is None:
            raise NotFound("unknown_token", f"user {user.username!r} has no token {token_id}")
        if row.revoked_at is None:
            row.revoked_at = clock.now()
            row.save(update_fields=["revoked_at"])
            audit.record(action="api_token.revoked", actor=actor, actor_label=actor_label, object_type="user",
                         object_id=user.pk, details={"username": user.username, "token_id": row.pk, "prefix": row.prefix})
    return {"username": user.username, **token_row(row)}


def authenticate_token(token: str):
    """The token's row (with its active user) if the token is valid now, else None."""
    parts = (token or "").split("_", 2)  # the secret may hold "_"; the prefix never does
    if len(parts) != 3 or f"{parts[0]}_" != PREFIX or not parts[1] or not parts[2]:
        return None
    row = ApiToken.objects.select_related("user").filter(prefix=parts[1]).first()
    if row is None or not hmac.compare_digest(row.digest, _digest(token)):
        return None
    now = clock.now()
    if _status(row, now) != "active" or not row.user.is_active:
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        row.last_used_at = now
    return row
