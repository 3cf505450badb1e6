"""Services for countries and their cooperation tiers."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pycountry

from caseload.core import clock
from caseload.countries.models import CooperationTier, CooperationTierChange, Country

_TIERS_FILE = Path(__file__).with_name("data") / "cooperation.toml"


def tier_assignments() -> tuple[dt.date, dict[str, tuple[str, str, int | None]]]:
    """From ``data/cooperation.toml``: effective date and {alpha2: (tier, source, quota)}."""
    with _TIERS_FILE.open("rb") as fh:
        data = tomllib.load(fh)
    out: dict[str, tuple[str, str, int | None]] = {}
    for code in data["delayed"]["countries"]:
        out[code] = (CooperationTier.DELAYED, data["delayed"]["source"], None)
    for code in data["uncooperative"]["countries"]:
        out[code] = (CooperationTier.UNCOOPERATIVE, data["uncooperative"]["source"], None)
    for code, quota in data["restricted"]["quotas"].items():
        out[code] = (CooperationTier.RESTRICTED, data["restricted"]["source"], quota)
    return dt.date.fromisoformat(data["effective_on"]), out


def load_countries() -> int:
    """Create every ISO 3166-1 country; set the reference tiers on first load, with history.

    A country whose tier was changed later (a newer history row) keeps its current tier.
    """
    effective_on, tiers = tier_assignments()
    existing = set(Country.objects.values_list("code", flat=True))
    new = []
    for c in pycountry.countries:
        if c.alpha_2 not in existing:
            tier, _, quota = tiers.get(c.alpha_2, (CooperationTier.COOPERATIVE, "", None))
            new.append(Country(code=c.alpha_2, alpha3=c.alpha_3, name=getattr(c, "common_name", c.name),
                               cooperation_tier=tier, annual_document_quota=quota))
    Country.objects.bulk_create(new)
    known = existing | {c.code for c in new}
    have_history = set(CooperationTierChange.objects.filter(effective_on=effective_on).values_list("country_id", flat=True))
    CooperationTierChange.objects.bulk_create(
        CooperationTierChange(country_id=code, tier=tier, effective_on=effective_on, source=source, recorded_at=clock.now())
        for code, (tier, source, _) in tiers.items()
        if code in known and code not in have_history
    )
    return Country.objects.count()


def tiers_by_code() -> dict[str, str]:
    return dict(Country.objects.values_list("code", "cooperation_tier"))
