"""The daily sweep over travel documents (``caseload countries sweep``), all set-based:

1. issued documents past their expiry date expire;
2. open escalation tasks whose case was closed or got a document are resolved;
3. refused and stalled requests without an escalation get their first step;
4. steps left open past their due date lapse and the next step opens;
5. final-order cases that meet the foreseeability criteria are flagged for review.

One audit event records what the sweep did.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from caseload.core import audit, clock
from caseload.countries import escalation, foreseeability, travel_documents


def do_sweep(*, as_of: dt.date | None = None, actor=None, actor_label: str | None = None) -> dict:
    as_of = as_of or clock.today()
    label = actor_label or (actor.get_username() if actor is not None else "system")
    with transaction.atomic():
        expired = travel_documents.expire_documents(as_of=as_of)
        resolved = escalation.resolve_finished(as_of=as_of, label=label)
        opened = escalation.open_due_escalations(as_of=as_of)
        lapsed, advanced = escalation.lapse_overdue(as_of=as_of, label=label)
        flagged = foreseeability.flag_reviews(as_of=as_of)
        result = {"as_of": as_of.isoformat(), "documents_expired": expired, "escalations_resolved": resolved,
                  "escalations_opened": opened, "escalations_lapsed": lapsed, "next_steps_opened": advanced,
                  "reviews_flagged": flagged}
        audit.record(action="countries.sweep", actor=actor, actor_label=label, object_type="countries", details=result)
    return result
