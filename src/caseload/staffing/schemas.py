"""API schemas of the staffing plan (the ``staffing plan`` document)."""

from typing import Any


from caseload.core.schemas import Document


class PlanOffice(Document):
    office: str
    cases: int
    workload_hours: float
    fte_need: float
    on_board: int
    gap: float
    recommended_caseload: int | None
    hires: int
    capacity_pct_before: float | None
    capacity_pct_after: float | None


class PlanOut(Document):
    year_value_hours: float
    offices: list[PlanOffice]
    national: dict[str, Any]
