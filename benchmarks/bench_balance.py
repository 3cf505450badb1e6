"""`caseload balance` on the office with the most cases at scale 1.0.

Targets: ≤ 20 s, max ÷ mean capacity ≤ 1.02, moves ≤ 1.1 × the proven lower bound.
Baseline: the greedy heuristic on the same office (time, max ÷ mean, moves).
"""

from __future__ import annotations


def run(ctx) -> dict:
    from django.db.models import Count

    from caseload.docket.models import Case
    from caseload.offices.models import FieldOffice
    from caseload.staffing import services

    services.weights_for("measured")
    office_id = Case.objects.values("office_id").annotate(n=Count("id")).order_by("-n")[0]["office_id"]
    code = FieldOffice.objects.get(pk=office_id).code
    cp = services.balance_office(code)
    greedy = services.balance_office(code, method="greedy")
    return {
        "office": code, "cases": Case.objects.filter(office_id=office_id, status="open").count(),
        "seconds": cp["seconds"], "before": cp["before"], "after": cp["after"], "moves": cp["moves"],
        "lower_bound_moves": cp["lower_bound_moves"],
        "moves_over_lower_bound": round(cp["moves"] / cp["lower_bound_moves"], 4) if cp["lower_bound_moves"] else None,
        "status": cp["status"],
        "baseline": "greedy heuristic (move from the fullest to the emptiest officer)",
        "baseline_seconds": greedy["seconds"], "baseline_after": greedy["after"], "baseline_moves": greedy["moves"],
        "ratio": round(cp["moves"] / greedy["moves"], 4) if greedy["moves"] else None,
        "targets": {"seconds": 20, "max_over_mean": 1.02, "moves_over_lower_bound": 1.1},
    }
