"""Due-process guards on removal steps (docs/domain.md §4).

A removal step (requesting a travel document, scheduling a removal) is refused while a stay of
removal is in effect, an appeal is pending, or a claim to U.S. citizenship is unresolved. The
predicates read only the case and its person, so every caller (services, API, CLI) applies the
same rule.

A check on a case read earlier is not enough when another writer records a stay meanwhile: a
removal step calls :func:`lock_for_removal_step` inside its own transaction, which locks the
case's row and checks the guards again on what is committed, so the step and a stay or claim on
the same case are serialised and whichever commits first decides.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

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


def lock_for_removal_step(case: Case, *, step: str, as_of: dt.date | None = None) -> Case:
    """Inside the caller's transaction: lock the case's row (``SELECT … FOR UPDATE``; on SQLite
    the transaction holds the database's write lock from its start), re-read it with its person,
    refuse it as stale if its version is not the one ``case`` was read with, and check the
    guards on it. Returns the locked case, for the caller to write."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("lock_for_removal_step must run inside the removal step's transaction")
    locked = Case.objects.select_for_update(of=("self",)).select_related("person").get(pk=case.pk)
    if locked.version != case.version:
        raise Conflict("stale_case",
                       f"case {case.pk} was changed by someone else since it was read (version {case.version} read, "
                       f"now {locked.version}); reload it and try again",
                       case_id=case.pk, read_version=case.version, current_version=locked.version)
    check_removal_step_allowed(locked, step=step, as_of=as_of)
    return locked
