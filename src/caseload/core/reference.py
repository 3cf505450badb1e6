"""Reference data every installation needs: offices, countries with tiers, roles."""

from __future__ import annotations

from django.db import transaction


def load_reference_data() -> dict:
    """Create or update the reference rows; safe to run again. Returns counts."""
    from caseload.core.permissions import ensure_roles
    from caseload.countries.services import load_countries
    from caseload.offices.services import load_offices

    with transaction.atomic():
        return {"offices": load_offices(), "countries": load_countries(), "roles": ensure_roles()}
