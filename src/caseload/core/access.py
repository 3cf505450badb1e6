"""Who sees what: the one place that decides which rows a user may read.

Pages, exports, the API and any list that names people take their rows from these querysets.
The *actor* is a Django user, or ``None`` for a process run on the server (the command line,
the daily sweep), which reads the whole docket and is audited under its process label.

| role          | offices        | officers            | cases / people                 |
|---------------|----------------|---------------------|--------------------------------|
| officer       | their office   | themselves          | the cases assigned to them     |
| supervisor    | their office   | their office's      | their office's                 |
| hq_analyst    | all            | all                 | all (read only)                |
| auditor       | all            | all                 | all (read only)                |
| administrator | all            | all                 | all                            |

A user with no role, or an officer user not linked to an officer record, sees nothing.
An object outside a user's scope is reported as missing (:class:`NotFound`, HTTP 404) so its
existence is not revealed.
"""

from __future__ import annotations

from django.apps import apps

from caseload.core.errors import NotFound

ROLE_ORDER = ("administrator", "auditor", "hq_analyst", "supervisor", "officer")
NATIONAL_ROLES = frozenset({"administrator", "auditor", "hq_analyst"})


def _model(label: str):
    return apps.get_model(label)


def role_of(actor) -> str | None:
    """The user's role (one Django group per user; a superuser counts as administrator).

    ``None`` for an anonymous user or one with no role; ``"process"`` for a server process."""
    if actor is None:
        return "process"
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return None
    cached = getattr(actor, "_caseload_role", False)
    if cached is not False:
        return cached
    names = set(actor.groups.values_list("name", flat=True))
    role = next((r for r in ROLE_ORDER if r in names), None)
    if role is None and actor.is_superuser:
        role = "administrator"
    actor._caseload_role = role
    return role


def reads_national(actor) -> bool:
    """True for roles that read the whole docket (and for server processes)."""
    role = role_of(actor)
    return role == "process" or role in NATIONAL_ROLES


def officer_of(actor):
    """The officer record linked to an officer user, or None."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None
    cached = getattr(actor, "_caseload_officer", False)
    if cached is not False:
        return cached
    officer = _model("offices.Officer").objects.filter(user_id=actor.pk).first()
    actor._caseload_officer = officer
    return officer


def office_id_of(actor) -> int | None:
    """The office a supervisor (from their account) or an officer (from their record) belongs to."""
    role = role_of(actor)
    if role == "officer":
        officer = officer_of(actor)
        return officer.office_id if officer else None
    if role == "supervisor":
        profile = _model("core.Account").objects.filter(user_id=actor.pk).values_list("office_id", flat=True).first()
        return profile
    return None


def visible_offices(actor):
    offices = _model("offices.FieldOffice").objects.all()
    if reads_national(actor):
        return offices
    office_id = office_id_of(actor)
    return offices.filter(pk=office_id) if office_id else offices.none()


def visible_officers(actor):
    officers = _model("offices.Officer").objects.all()
    if reads_national(actor):
        return officers
    role = role_of(actor)
    if role == "officer":
        officer = officer_of(actor)
        return officers.filter(pk=officer.pk) if officer else officers.none()
    office_id = office_id_of(actor) if role == "supervisor" else None
    return officers.filter(office_id=office_id) if office_id else officers.none()


def visible_cases(actor):
    cases = _model("docket.Case").objects.all()
    if reads_national(actor):
        return cases
    role = role_of(actor)
    if role == "officer":
        officer = officer_of(actor)
        return cases.filter(officer_id=officer.pk) if officer else cases.none()
    office_id = office_id_of(actor) if role == "supervisor" else None
    return cases.filter(office_id=office_id) if office_id else cases.none()


def visible_people(actor):
    people = _model("docket.Person").objects.all()
    if reads_national(actor):
        return people
    return people.filter(pk__in=visible_cases(actor).values("person_id"))


def access_case(actor, case_id):
    """The case with this id if the actor may see it; NotFound otherwise (whether or not it exists)."""
    try:
        pk = int(case_id)
    except (TypeError, ValueError):
        raise NotFound("unknown_case", f"no case {case_id!r}") from None
    case = visible_cases(actor).filter(pk=pk).first()
    if case is None:
        raise NotFound("unknown_case", f"no case {case_id!r}")
    return case


def access_person(actor, a_number: str):
    person = visible_people(actor).filter(a_number=a_number).first()
    if person is None:
        raise NotFound("unknown_person", f"no person with A-number {a_number!r}")
    return person


def access_office(actor, code: str):
    office = visible_offices(actor).filter(code=str(code).upper()).first()
    if office is None:
        raise NotFound("unknown_office", f"no field office {code!r}")
    return office


def access_officer(actor, officer_id):
    try:
        pk = int(officer_id)
    except (TypeError, ValueError):
        raise NotFound("unknown_officer", f"no officer {officer_id!r}") from None
    officer = visible_officers(actor).filter(pk=pk).first()
    if officer is None:
        raise NotFound("unknown_officer", f"no officer {officer_id!r}")
    return officer


def role_guard(roles: tuple[str, ...], refusal):
    """A view decorator letting only ``roles`` through (``refusal(role)`` builds the Forbidden
    for any other); the roles are kept on the view as ``allowed_roles`` for the role matrices.
    Pages (``caseload.web.decorators``) and the API (``caseload.core.api``) wrap it."""
    import functools

    from caseload.core.permissions import ROLES

    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def decorate(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            role = role_of(request.user)
            if role not in roles:
                raise refusal(role)
            return view(request, *args, **kwargs)

        wrapped.allowed_roles = frozenset(roles)
        return wrapped

    return decorate
