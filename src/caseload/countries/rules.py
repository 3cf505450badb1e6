"""Permissions of the countries app (``rules`` predicates, found by AutodiscoverRulesConfig).

Services check them only for a user actor; command-line runs act as a labelled process.
"""

from __future__ import annotations

import rules

from caseload.core.errors import Forbidden
from caseload.core.permissions import is_administrator, is_hq_analyst, is_officer, is_supervisor, reads_national_docket


@rules.predicate
def works_in_object_office(user, obj) -> bool:
    """The user is an officer (or supervisor) of the office the object (case, request, review) belongs to."""
    from caseload.core.access import office_id_of

    office_id = office_id_of(user)
    return obj is not None and office_id is not None and office_id == getattr(obj, "office_id", None)


rules.add_perm("countries.view_cooperation", reads_national_docket | is_supervisor | is_officer)
rules.add_perm("countries.manage_travel_documents", ((is_officer | is_supervisor) & works_in_object_office) | is_administrator)
rules.add_perm("countries.work_escalations", is_supervisor | is_hq_analyst | is_administrator)
# A foreseeability review is decided by a supervisor of the case's office or a headquarters user
# (foreseeability.check_decider also refuses the case's own officer).
rules.add_perm("countries.decide_foreseeability_review", (is_supervisor & works_in_object_office) | is_hq_analyst)
rules.add_perm("countries.set_tier", is_administrator)


def require(actor, perm: str, obj=None) -> None:
    """Raise Forbidden when a user actor lacks ``perm`` (None means a labelled process)."""
    if actor is not None and not actor.has_perm(perm, obj):
        raise Forbidden("forbidden", f"{actor.get_username()} may not do this ({perm})")


def label_of(actor, actor_label: str | None) -> str:
    if actor_label:
        return actor_label
    if actor is None:
        raise ValueError("an action needs an actor or an actor_label")
    return actor.get_username()
