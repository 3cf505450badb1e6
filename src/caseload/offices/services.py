"""Services for field offices and officers."""

from __future__ import annotations

import tomllib
from pathlib import Path

from django.db.models import Count, Q

from caseload.core.errors import NotFound
from caseload.offices.models import FieldOffice, Officer

_OFFICES_FILE = Path(__file__).with_name("data") / "offices.toml"


def load_offices() -> int:
    """Create or update the 24 field offices from ``data/offices.toml``."""
    with _OFFICES_FILE.open("rb") as fh:
        offices = tomllib.load(fh)["office"]
    for spec in offices:
        FieldOffice.objects.update_or_create(code=spec["code"], defaults={"name": spec["name"], "active": True})
    return len(offices)


def access_office(code: str) -> FieldOffice:
    try:
        return FieldOffice.objects.get(code=code.upper())
    except FieldOffice.DoesNotExist:
        raise NotFound("unknown_office", f"no field office with code {code!r}") from None


def list_officers(*, office: str | None = None) -> list[dict]:
    """Officers with their open-case count, ordered by office then name."""
    qs = Officer.objects.select_related("office")
    if office:
        qs = qs.filter(office=access_office(office))
    qs = qs.annotate(n_cases=Count("cases", filter=Q(cases__status="open"))).order_by("office__code", "last_name", "first_name", "id")
    return [
        {"id": o.id, "name": o.name, "office": o.office.code, "unit": o.unit, "status": o.status, "cases": o.n_cases}
        for o in qs
    ]

