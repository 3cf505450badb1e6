"""API route of the staffing plan (docs/api.md): the ``staffing plan`` document."""

from typing import Annotated, Literal

from ninja import Query, Router

from caseload.core.api import NATIONAL_READERS, require_role
from caseload.core.schemas import responses
from caseload.staffing.schemas import PlanOut

router = Router(tags=["staffing"])
MAX_HIRES = 5000


@router.get("/staffing/plan", response=responses(PlanOut), summary="Staffing plan and hiring allocation")
@require_role(*NATIONAL_READERS)
def staffing_plan(request,
                  hires: Annotated[int | None, Query(ge=0, le=MAX_HIRES, description="new officers to allocate")] = None,
                  weights: Literal["measured", "adjusted"] = "measured",
                  max_hires_per_office: Annotated[int | None, Query(ge=0, le=MAX_HIRES)] = None):
    """FTE need, gap and recommended caseload per office; with ``hires``, the optimal allocation
    against the proportional rule."""
    from caseload.staffing import services

    return services.staffing_plan(hires=hires, weights_kind=weights, max_hires_per_office=max_hires_per_office)
