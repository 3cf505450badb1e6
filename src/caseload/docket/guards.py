"""Due-process guards on removal steps (docs/domain.md §4).

A removal step (requesting a travel document, scheduling a removal) is refused while a stay of
removal is in effect, an appeal is pending, or a claim to U.S. citizenship is unresolved. The
predicates read only the case and its person, so every caller (services, API, CLI) applies the
same rule.
"""

from __future__ import annotations

import datetime as dt

from caseload.core import clock
from caseload.core.errors import Conflict
from caseload.docket.models import Case, CitizenshipClaim

# code -> message; the codes are stable (API clients and tests depend on them).
BLOCKERS = {
    "stay_in_effect": "a stay of removal is in effect until {until}",
    "appeal_pending": "an appeal is pending",
    "citizenship_claim_open": "a claim to U.S. citizenship is unresolved and needs a supervisor's decision",
}


def removal_step_blockers(case: Case, *, as_of: dt.date | None = None) -> list[str]:
    """Codes of every guard that blocks a removal step on ``case`` today (or ``as_of``)."""
    as_of = as_of or clock.today()
    codes = []
    if case.stay_of_removal_until is not None and case.stay_of_removal_until >= as_of:
        codes.append("stay_in_effect")
    if case.appeal_pending:
        codes.append("appeal_pending")
    if case.person.citizenship_claim == CitizenshipClaim.OPEN:
        codes.append("citizenship_claim_open")
    return codes


def can_take_removal_step(case: Case, *, as_of: dt.date | None = None) -> bool:
    return not removal_step_blockers(case, as_of=as_of)


def check_removal_step_allowed(case: Case, *, step: str, as_of: dt.date | None = None) -> None:
    """Raise Conflict with the first blocker's code (all blockers in ``details``) if the step is barred."""
    codes = removal_step_blockers(case, as_of=as_of)
    if codes:
        first = codes[0]
        message = BLOCKERS[first].format(until=case.stay_of_removal_until)
        raise Conflict(first, f"{step} refused on case {case.pk}: {message}", blockers=codes, step=step)
