"""API schemas shared by every router: the error body, and the audit log's events."""

from typing import Any

from ninja import Schema
from pydantic import BaseModel, ConfigDict


class Document(BaseModel):
    """An answer that is a command's JSON document: keys the service adds later pass through
    (``additionalProperties``), so the API never lags the command line."""

    model_config = ConfigDict(extra="allow")


class ErrorDetail(Schema):
    code: str
    message: str
    details: dict[str, Any] | None = None


class Error(Schema):
    """Every refusal: ``{"error": {"code", "message"}}`` (``details`` when the error carries some)."""

    error: ErrorDetail


# The statuses an endpoint may answer besides its success (docs/api.md, "Errors").
ERRORS: dict[int, type[Schema]] = {400: Error, 401: Error, 403: Error, 404: Error, 409: Error, 422: Error, 429: Error}


def responses(ok: Any, status: int = 200) -> dict:
    return {status: ok, **ERRORS}


class AuditEventOut(Schema):
    id: int
    occurred_at: str
    actor_label: str
    action: str
    object_type: str
    object_id: str
    office_id: int | None
    details: dict[str, Any]


class AuditEventsOut(Schema):
    events: list[AuditEventOut]
    next_before: int | None
