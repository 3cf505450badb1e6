"""What the supervisor's office page shows, assembled from the services that own each rule.

Every figure comes from an existing service (the overdue summary, officer capacity and
outliers, balancing, foreseeability reviews, director exceptions); the rows that need more
than a service returns (names, the case version a form carries) are read through the
visibility querysets of :mod:`caseload.core.access`. Decisions go to the ``do_*`` services
named in :data:`DECISIONS` with the signed-in user as actor.
"""

from __future__ import annotations

from dataclasses import dataclass

from caseload.core import audit, clock
from caseload.core.access import role_of, visible_cases, visible_officers
from caseload.core.errors import CaseloadError, Conflict, Forbidden
from caseload.core.models import AuditEvent
from caseload.countries import config as countries_config
from caseload.countries.foreseeability import escalation_level_reached, list_reviews
from caseload.countries.models import Country
from caseload.docket import tasks as task_rules
from caseload.docket.models import CheckIn, CitizenshipClaim, RecordsCheck
from caseload.docket.worklist import officer_worklist, overdue_summary
from caseload.offices import forms
from caseload.offices.models import FieldOffice, OfficerStatus, Unit
from caseload.offices.services import list_officers
from caseload.policy.services import list_exceptions
from caseload.staffing import services as staffing
from caseload.web.charts import bar_chart_svg

# Roles that may take the page's decisions (the office's supervisor; an administrator may act
# for any office). National readers see the page without the forms.
ACTING_ROLES = frozenset({"supervisor", "administrator"})
PANEL_ROWS = 50  # rows listed per panel; the count above each list is the full number


def can_act(user) -> bool:
    return role_of(user) in ACTING_ROLES


def check_can_act(user, office: FieldOffice) -> None:
    if not can_act(user):
        raise Forbidden("read_only", f"Decisions on {office.name} are for its supervisor; your role reads this page only.")


def task_label(code: str) -> str:
    return code.replace("_", " ").capitalize()


def changed_by(case_id: int) -> dict | None:
    """Who last changed the case and when (its latest audit event), for a stale-form notice."""
    event = (AuditEvent.objects.filter(object_type="case", object_id=str(case_id)).order_by("-id")
             .values("actor_label", "occurred_at").first())
    return {"name": event["actor_label"], "at": event["occurred_at"]} if event else None


def current_version(user, case_id: int) -> int | None:
    return visible_cases(user).filter(pk=case_id).values_list("version", flat=True).first()


@dataclass
class Posted:
    """A decision form that was refused, shown again in its row with the user's input."""

    action: str
    key: str
    form: object
    error: str = ""
    changed: dict | None = None


def _form(posted: Posted | None, action: str, key, cls, initial: dict, **kwargs):
    key = str(key)
    if posted is not None and posted.action == action and posted.key == key:
        return {"form": posted.form, "error": posted.error, "changed": posted.changed}
    return {"form": cls(initial=initial, auto_id=forms.auto_id(action, key), **kwargs), "error": "", "changed": None}


def _officer_names(user, office: FieldOffice) -> dict[int, str]:
    return {pk: f"{first} {last}" for pk, first, last in
            visible_officers(user).filter(office=office).values_list("id", "first_name", "last_name")}


def _assignable(user, office: FieldOffice) -> list[tuple[int, str]]:
    """Officers who may receive the office's non-detained cases (active, non-detained unit)."""
    return [(pk, f"{first} {last}") for pk, first, last in
            visible_officers(user).filter(office=office, unit=Unit.NON_DETAINED, status=OfficerStatus.ACTIVE)
            .order_by("last_name", "first_name", "id").values_list("id", "first_name", "last_name")]


def _case_rows(qs, ids=None) -> dict[int, dict]:
    """id → {version, name, a_number} for the cases of ``qs`` (a visibility queryset)."""
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return {pk: {"case_id": pk, "version": v, "name": f"{first} {last}", "a_number": a, "officer": o}
            for pk, v, first, last, a, o in qs.values_list("id", "version", "person__first_name", "person__last_name",
                                                           "person__a_number", "officer_id")}


def _display(a_number: str) -> str:
    from caseload.docket import anumber

    return anumber.display(a_number)


def office_page(user, office: FieldOffice, posted: Posted | None = None) -> dict:
    """Every panel of ``/office/<code>/`` for ``user`` (already allowed to read ``office``)."""
    code = office.code
    acting = can_act(user)
    names = _officer_names(user, office)
    cases = visible_cases(user).filter(office=office)
    rules = task_rules.load_rules()
    summary = overdue_summary(office=code, rules=rules)
    shown_cases: set[int] = set()
    shown_a: set[str] = set()

    # Overdue tasks by officer and type: the columns are the types overdue somewhere in the office.
    types = [t for t in summary["task_types"] if summary["totals"]["by_task"][t]]
    overdue_rows = [{"officer": r["officer"], "name": names.get(r["officer"], r["name"]), "open_cases": r["open_cases"],
                     "overdue": r["overdue"], "cells": [(t, r["by_task"][t]) for t in types]}
                    for r in summary["officers"] if r["officer"] in names]
    overdue = {"types": [(t, task_label(t), rules.tasks[t].label) for t in types], "rows": overdue_rows,
               "total": summary["totals"]["overdue"], "open_cases": summary["totals"]["open_cases"],
               "totals": [(t, summary["totals"]["by_task"][t]) for t in types]}

    assignable = _assignable(user, office)

    def assign_form(row):
        return _form(posted, "assign", row["case_id"], forms.AssignForm,
                     {"case": row["case_id"], "version": row["version"]}, officers=assignable)

    # Unassigned cases (the overdue summary lists them all) and the cases of officers on leave.
    unassigned_all = summary["unassigned_cases"]
    unassigned_ids = [r["case_id"] for r in unassigned_all[:PANEL_ROWS]]
    facts = _case_rows(cases, unassigned_ids)
    unassigned = []
    for r in unassigned_all[:PANEL_ROWS]:
        if r["case_id"] not in facts:
            continue
        row = {**facts[r["case_id"]], "opened_on": r["opened_on"], "stage": r["stage"].replace("_", " ")}
        row["assign"] = assign_form(row) if acting else None
        unassigned.append(row)
    on_leave_qs = cases.filter(status="open", officer__status=OfficerStatus.LEAVE).order_by("officer_id", "id")
    on_leave_total = on_leave_qs.count()
    on_leave = []
    for row in _case_rows(on_leave_qs, list(on_leave_qs.values_list("id", flat=True)[:PANEL_ROWS])).values():
        row["officer_name"] = names.get(row["officer"], "")
        row["assign"] = assign_form(row) if acting else None
        on_leave.append(row)
    on_leave.sort(key=lambda r: (r["officer_name"], r["case_id"]))

    # Stale national-security cases.
    stale = [{**r, "officer_name": names.get(r["officer"], "unassigned") if r["officer"] else "unassigned",
              "reasons": [task_label(x) for x in r["reasons"]]}
             for r in summary["stale_national_security_cases"]]
    stale_facts = _case_rows(cases, [r["case_id"] for r in stale[:PANEL_ROWS]])
    stale_shown = [{**r, "name": stale_facts[r["case_id"]]["name"]} for r in stale[:PANEL_ROWS] if r["case_id"] in stale_facts]

    # Records-check hits awaiting review: check-ins of the cases whose derived column says one is
    # owed (made current by the overdue summary above), so the check-in table is read by case.
    owed = cases.filter(hit_review_owed_since__isnull=False)
    hit_qs = (CheckIn.objects.filter(case__in=owed, records_check=RecordsCheck.HIT, hit_reviewed_on__isnull=True)
              .order_by("scheduled_for", "id"))
    hits_total = hit_qs.count()
    hits = []
    for ci in hit_qs.select_related("case", "case__person")[:PANEL_ROWS]:
        row = {"check_in": ci.pk, "case_id": ci.case_id, "version": ci.case.version, "name": f"{ci.case.person.first_name} {ci.case.person.last_name}",
               "a_number": ci.case.person.a_number, "scheduled_for": ci.scheduled_for, "detail": ci.records_check_detail,
               "officer_name": names.get(ci.officer_id or ci.case.officer_id, "")}
        row["review"] = _form(posted, "review_hit", ci.pk, forms.ReviewHitForm,
                              {"check_in": ci.pk, "version": ci.case.version}) if acting else None
        hits.append(row)

    # Citizenship claims awaiting a decision (the open case of each person with an open claim).
    claim_qs = cases.filter(status="open", person__citizenship_claim=CitizenshipClaim.OPEN).order_by(
        "person__citizenship_claim_raised_on", "id")
    claims_total = claim_qs.count()
    claims = []
    for pk, version, first, last, a, raised, officer in claim_qs.values_list(
            "id", "version", "person__first_name", "person__last_name", "person__a_number",
            "person__citizenship_claim_raised_on", "officer_id")[:PANEL_ROWS]:
        row = {"case_id": pk, "version": version, "name": f"{first} {last}", "a_number": a, "raised_on": raised,
               "officer_name": names.get(officer, "unassigned") if officer else "unassigned"}
        row["decide"] = _form(posted, "decide_claim", pk, forms.ClaimDecisionForm,
                              {"case": pk, "version": version}) if acting else None
        claims.append(row)

    # Foreseeability reviews due.
    reviews_all = list_reviews(office=code)
    visible_review_cases = set(cases.filter(pk__in=[r["case"] for r in reviews_all[:PANEL_ROWS]]).values_list("id", flat=True))
    reviews_shown = [r for r in reviews_all[:PANEL_ROWS] if r["case"] in visible_review_cases]
    country_names = dict(Country.objects.filter(pk__in={r["country"] for r in reviews_shown}).values_list("code", "name"))
    review_facts = _case_rows(cases, visible_review_cases)
    cfg = countries_config.config()
    reviews = []
    for r in reviews_shown:
        row = {**r, "name": review_facts[r["case"]]["name"], "country_name": country_names.get(r["country"], r["country"]),
               "reasons": [x.replace("_", " ") for x in r["reasons"]]}
        if acting:
            row["decide"] = _form(posted, "decide_review", r["id"], forms.ReviewDecisionForm,
                                  {"review": r["id"], "escalation_level": escalation_level_reached(r["case"])},
                                  **form_kwargs("decide_review", user, office))
        reviews.append(row)
    min_words = cfg.min_rationale_words

    # Director exceptions in force today.
    in_force = list_exceptions(office=code, active_on=clock.today())[:PANEL_ROWS]
    exception_facts = _case_rows(cases, [e["case_id"] for e in in_force])
    exceptions = [{**e, "name": exception_facts[e["case_id"]]["name"]} for e in in_force if e["case_id"] in exception_facts]

    # Capacity per officer, outliers.
    capacity = _capacity(office)

    # The roster.
    roster = []
    for o in list_officers(office=code):
        if o["status"] == OfficerStatus.SEPARATED or o["id"] not in names:
            continue
        row = {**o, "unit_label": Unit(o["unit"]).label}
        if acting and o["status"] == OfficerStatus.ACTIVE:
            row["leave"] = _form(posted, "start_leave", o["id"], forms.LeaveForm,
                                 {"officer": o["id"], "leave_from": clock.today()})
        elif acting and o["status"] == OfficerStatus.LEAVE:
            row["back"] = _form(posted, "return", o["id"], forms.ReturnForm, {"officer": o["id"]})
        roster.append(row)

    auto_assign = _form(posted, "assign_auto", "", forms.AutoAssignForm, {})
    balance_apply = _form(posted, "balance", "", forms.BalanceForm, {}) if posted and posted.action == "balance" else None

    for group in (unassigned, on_leave, hits, claims):
        shown_cases.update(r["case_id"] for r in group)
        shown_a.update(r["a_number"] for r in group)
    shown_cases.update(r["case_id"] for r in stale_shown)
    shown_a.update(r["a_number"].replace("-", "") for r in stale_shown)
    shown_cases.update(r["case"] for r in reviews)
    shown_a.update(r["a_number"] for r in reviews)
    shown_cases.update(e["case_id"] for e in exceptions)
    shown_a.update(e["a_number"] for e in exceptions)
    for group in (unassigned, on_leave, hits, claims):
        for r in group:
            r["a_number"] = _display(r["a_number"])

    return {
        "office": office, "acting": acting, "as_of": clock.today(), "panel_rows": PANEL_ROWS,
        "overdue": overdue,
        "unassigned": unassigned, "unassigned_total": len(unassigned_all), "auto_assign": auto_assign,
        "on_leave": on_leave, "on_leave_total": on_leave_total,
        "stale": stale_shown, "stale_total": len(stale),
        "hits": hits, "hits_total": hits_total,
        "claims": claims, "claims_total": claims_total,
        "reviews": reviews, "reviews_total": len(reviews_all), "min_rationale_words": min_words,
        "exceptions": exceptions,
        "capacity": capacity,
        "roster": roster,
        "balance_form": forms.BalanceForm(initial={"max_moves": forms.DEFAULT_MAX_MOVES}), "balance_apply": balance_apply,
        "posted": posted,
        "_read": {"case_ids": sorted(shown_cases), "a_numbers": sorted(a.replace("-", "") for a in shown_a)},
    }


def _capacity(office: FieldOffice) -> dict:
    """Capacity rows, the chart of active officers and the outliers; the reason when no weights exist."""
    try:
        rows = staffing.officer_capacity(office=office.code)
        found = staffing.outliers(office=office.code, capacity=rows)
    except CaseloadError as exc:
        return {"rows": [], "outliers": [], "chart": "", "error": exc.message}
    active = [r for r in rows if r["capacity_pct"] is not None and r["status"] == OfficerStatus.ACTIVE]
    chart = bar_chart_svg(active, category="name", value="capacity_pct", title=f"Capacity % by officer, {office.name}",
                          value_title="capacity %") if active else ""
    for r in rows:
        r["status_label"] = OfficerStatus(r["status"]).label
    for o in found:
        o["metric_label"] = {"cases": "Open cases", "capacity_pct": "Capacity %", "overdue_rate": "Overdue tasks per case"}.get(
            o["metric"], o["metric"])
    return {"rows": rows, "outliers": found, "chart": chart, "error": ""}


def balance_preview(user, office: FieldOffice, *, max_moves: int) -> dict:
    """The proposal of ``balance_office`` (nothing applied) with capacity before → after per officer."""
    doc = staffing.balance_office(office.code, max_moves=max_moves, apply=False)
    view = _balance_view(office, doc, _officer_names(user, office))
    view["max_moves"] = max_moves
    view["_read"] = {"case_ids": sorted(m["case_id"] for m in view["moves"]),
                     "a_numbers": sorted(m["a_number"].replace("-", "") for m in view["moves"])}
    return view


def _balance_view(office: FieldOffice, doc: dict, names: dict[int, str]) -> dict:
    before = {r["officer"]: r for r in staffing.officer_capacity(office=office.code)}
    per_officer = []
    moved_in: dict[int, int] = {}
    moved_out: dict[int, int] = {}
    for m in doc["moves_detail"]:
        moved_out[m["from_officer"]] = moved_out.get(m["from_officer"], 0) + 1
        moved_in[m["to_officer"]] = moved_in.get(m["to_officer"], 0) + 1
    after_pct = _capacity_after(office, doc)
    for oid, r in before.items():
        if r["status"] != OfficerStatus.ACTIVE:
            continue
        per_officer.append({"name": names.get(oid, r["name"]), "cases": r["cases"], "before": r["capacity_pct"],
                            "after": after_pct.get(oid, r["capacity_pct"]), "gives": moved_out.get(oid, 0),
                            "receives": moved_in.get(oid, 0)})
    moves = [{**m, "from_name": names.get(m["from_officer"], ""), "to_name": names.get(m["to_officer"], "")}
             for m in doc["moves_detail"]]
    return {"moves": moves, "count": doc["moves"], "lower_bound": doc["lower_bound_moves"], "before": doc["before"],
            "after": doc["after"], "status": doc["status"], "per_officer": per_officer, "applied": doc["applied"]}


def _capacity_after(office: FieldOffice, doc: dict) -> dict[int, float | None]:
    """Capacity % per officer once the proposed moves are made, from the balancing problem itself."""
    import numpy as np

    state = staffing.office_state(office)
    p, officers, cases = state.problem, state.officers, state.cases
    counts = p.counts.copy()
    pos = {int(o): i for i, o in enumerate(officers.ids)}
    key_of = dict(zip(cases.case_ids.tolist(), cases.key_index.tolist(), strict=True))
    for m in doc["moves_detail"]:
        t = key_of[m["case_id"]]
        counts[pos[m["from_officer"]], t] -= 1
        counts[pos[m["to_officer"]], t] += 1
    cap = p.capacity(counts)
    return {int(o): (None if np.isnan(cap[i]) else round(float(cap[i]), 1)) for i, o in enumerate(officers.ids)}


def officer_choices(user, office: FieldOffice) -> list[dict]:
    return [{"id": pk, "name": name} for pk, name in sorted(_officer_names(user, office).items(), key=lambda kv: kv[1])]


def overdue_list(user, office: FieldOffice, *, officer_id: int, task: str | None) -> dict:
    """The overdue tasks of one officer's cases (of one type, or all), from the officer's worklist."""
    from caseload.core.access import access_officer

    officer = access_officer(user, officer_id)
    if officer.office_id != office.pk:
        from caseload.core.errors import NotFound

        raise NotFound("unknown_officer", f"no officer {officer_id!r} in {office.name}")
    rules = task_rules.load_rules()
    if task and task not in rules.codes:
        from caseload.core.errors import UsageError

        raise UsageError("unknown_task", f"task must be one of {', '.join(rules.codes)}, got {task!r}")
    doc = officer_worklist(officer=officer.pk, rules=rules)
    tasks = [t for t in doc["tasks"] if t["overdue"] and (not task or t["task"] == task)]
    people = _case_rows(visible_cases(user), {t["case_id"] for t in tasks})
    rows = [{**t, "name": people[t["case_id"]]["name"], "label": rules.tasks[t["task"]].label,
             "task_label": task_label(t["task"])} for t in tasks if t["case_id"] in people]
    return {"office": office, "officer": officer, "task": task, "task_label": task_label(task) if task else None,
            "rows": rows,
            "_read": {"case_ids": sorted({r["case_id"] for r in rows}),
                      "a_numbers": sorted({r["a_number"].replace("-", "") for r in rows})}}


def record_page_read(request, doc: dict) -> None:
    read = doc.pop("_read")
    if read["case_ids"] or read["a_numbers"]:
        audit.record_read(action="case.list", via=request.path, actor=request.user, case_ids=read["case_ids"],
                          a_numbers=read["a_numbers"])


# --- decisions ---------------------------------------------------------------------------------

def _case_for(user, office: FieldOffice, case_id: int, version: int | None):
    """The case (in scope and in this office) carrying the version the form was rendered with."""
    from caseload.core.access import access_case
    from caseload.core.errors import NotFound

    case = access_case(user, case_id)
    if case.office_id != office.pk:
        raise NotFound("unknown_case", f"no case {case_id!r} in {office.name}")
    if version is not None:
        case.version = version
    return case


def decide_review_hit(user, office, data) -> str:
    from caseload.docket.checkins import do_review_hit

    check_in = CheckIn.objects.filter(pk=data["check_in"], case__in=visible_cases(user).filter(office=office)).first()
    if check_in is None:
        from caseload.core.errors import NotFound

        raise NotFound("unknown_check_in", f"no check-in {data['check_in']} in {office.name}")
    check_in.case = _case_for(user, office, check_in.case_id, data["version"])
    do_review_hit(check_in=check_in, decision=forms.ReviewHitForm.decision_text(data), supervisor=user)
    return f"Records-check hit of check-in {check_in.pk} (case {check_in.case_id}) reviewed."


def decide_claim(user, office, data) -> str:
    from caseload.docket.lifecycle import do_decide_citizenship_claim

    case = _case_for(user, office, data["case"], data["version"])
    do_decide_citizenship_claim(case=case, decision=data["decision"], reason=data["reason"], supervisor=user)
    return f"Citizenship claim on case {case.pk} decided: {data['decision'].replace('_', ' ')}."


def decide_review(user, office, data) -> str:
    from caseload.countries.foreseeability import access_review, do_decide_review

    review = access_review(data["review"])
    if review.office_id != office.pk or not visible_cases(user).filter(pk=review.case_id).exists():
        from caseload.core.errors import NotFound

        raise NotFound("unknown_review", f"no foreseeability review {data['review']} in {office.name}")
    checklist = {"criminal_history_reviewed": data["criminal_history_reviewed"] or None,
                 "consulate_contacted_on": data["consulate_contacted_on"].isoformat() if data["consulate_contacted_on"] else None,
                 "escalation_level": data["escalation_level"] or None, "risk_assessment": data["risk_assessment"] or None}
    do_decide_review(review=review, decision=data["decision"], rationale=data["rationale"], checklist=checklist, actor=user)
    return f"Foreseeability review {review.pk} (case {review.case_id}) decided."


def assign(user, office, data) -> str:
    case = _case_for(user, office, data["case"], data["version"])
    case.person  # noqa: B018 - loaded for the service's national-security check
    record = staffing.do_assign_case(case=case, officer_id=int(data["officer"]), reason=data["reason"], actor=user,
                                     actor_label=user.get_username())
    return f"Case {case.pk} assigned to {record.to_officer.name}."


def assign_automatically(user, office, data) -> str:
    doc = staffing.assign_unassigned(office.code, apply=True, actor=user, actor_label=user.get_username(),
                                     reason=data["reason"])
    left = len(doc["unplaced"])
    return (f"{doc['assigned']:,} case{'s' if doc['assigned'] != 1 else ''} assigned automatically"
            + (f"; {left:,} left unassigned (no eligible officer)." if left else "."))


def apply_balance(user, office, data) -> str:
    doc = staffing.balance_office(office.code, max_moves=data["max_moves"], apply=True, actor=user,
                                  actor_label=user.get_username(), reason=data["reason"])
    if not doc["applied"]:
        return "No move improves the balance: nothing was moved."
    return (f"{doc['moves']:,} case{'s' if doc['moves'] != 1 else ''} moved; the largest capacity went from "
            f"{doc['before']['max_capacity_pct']}% to {doc['after']['max_capacity_pct']}%.")


def _roster_officer(user, office, officer_id):
    from caseload.core.access import access_officer
    from caseload.core.errors import NotFound

    officer = access_officer(user, officer_id)
    if officer.office_id != office.pk:
        raise NotFound("unknown_officer", f"no officer {officer_id!r} in {office.name}")
    return officer


def start_leave(user, office, data) -> str:
    from caseload.offices.services import do_start_leave

    officer = _roster_officer(user, office, data["officer"])
    doc = do_start_leave(officer_id=officer.pk, from_=data["leave_from"], until=data["leave_until"], actor=user,
                         reason=data["reason"])
    return (f"{officer.name} is on leave; {doc['cases']:,} open case{'s' if doc['cases'] != 1 else ''} "
            "flagged for reassignment.")


def return_from_leave(user, office, data) -> str:
    from caseload.offices.services import do_return_from_leave

    officer = _roster_officer(user, office, data["officer"])
    do_return_from_leave(officer_id=officer.pk, actor=user, reason=data["reason"])
    return f"{officer.name} is back from leave."


# action → (form class, decision, the key that identifies the form's row, the panel's anchor)
DECISIONS = {
    "review_hit": (forms.ReviewHitForm, decide_review_hit, "check_in", "hits"),
    "decide_claim": (forms.ClaimDecisionForm, decide_claim, "case", "claims"),
    "decide_review": (forms.ReviewDecisionForm, decide_review, "review", "reviews"),
    "assign": (forms.AssignForm, assign, "case", "unassigned"),
    "assign_auto": (forms.AutoAssignForm, assign_automatically, None, "unassigned"),
    "balance": (forms.BalanceForm, apply_balance, None, "balancing"),
    "start_leave": (forms.LeaveForm, start_leave, "officer", "roster"),
    "return": (forms.ReturnForm, return_from_leave, "officer", "roster"),
}


def form_kwargs(action: str, user, office: FieldOffice) -> dict:
    """What a decision form needs to parse its input (the choices it offers)."""
    if action == "assign":
        return {"officers": _assignable(user, office)}
    if action == "decide_review":
        cfg = countries_config.config()
        return {"steps": ("none", *cfg.steps), "risk_levels": cfg.risk_levels}
    return {}


def stale_notice(user, exc: Conflict) -> tuple[int | None, dict | None]:
    """The current version and who changed the case, for a ``stale_case`` refusal."""
    case_id = exc.details.get("case_id")
    if case_id is None:
        return None, None
    return current_version(user, int(case_id)), changed_by(int(case_id))
