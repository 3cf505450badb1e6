"""Typed errors with stable codes.

Services raise :class:`CaseloadError` (or a subclass); the CLI prints ``error[code]: message``
and exits non-zero, the API answers with a 4xx JSON body ``{"code", "message"}``.
"""

from __future__ import annotations


class CaseloadError(Exception):
    """An error the user can act on. ``code`` is stable; ``message`` is one line."""

    exit_code = 1
    http_status = 400

    def __init__(self, code: str, message: str, **details: object) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, **({"details": self.details} if self.details else {})}


class UsageError(CaseloadError):
    """Bad command-line input (exit code 2, as for any usage error)."""

    exit_code = 2


class ConfigurationError(CaseloadError):
    """The installation is not usable (database unreachable, bad URL)."""

    exit_code = 3


class Forbidden(CaseloadError):
    """The acting user lacks the role or permission the action needs (HTTP 403)."""

    http_status = 403


class NotFound(CaseloadError):
    """An object the input names does not exist (or is outside the actor's scope): bad input, exit 2."""

    exit_code = 2
    http_status = 404


class Conflict(CaseloadError):
    """A stale write (optimistic locking) or a state that forbids the change."""

    http_status = 409
