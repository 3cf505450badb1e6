"""User accounts: one role each, an officer user linked to their officer record, a supervisor to
their office; passwords hashed by Django and checked by its validators; TOTP enrolment."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from caseload.core import audit
from caseload.core.access import office_id_of, officer_of, role_of
from caseload.core.errors import Conflict, NotFound, UsageError
from caseload.core.models import Account
from caseload.core.permissions import ROLES
from caseload.core.validation import check_username


def check_password(password: str, *, user: User | None = None) -> None:
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise UsageError("weak_password", " ".join(exc.messages)) from None


def access_user(username: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise NotFound("unknown_user", f"no user named {username!r}")
    return user


def do_add_user(*, username: str, role: str, password: str | None = None, officer_id: int | None = None,
                office_code: str | None = None, actor=None, actor_label: str | None = None) -> tuple[User, str]:
    """Create a user in one role; a strong password is generated when none is given.

    An officer user is linked to their officer record (required), a supervisor to the office
    they oversee (required). Returns the user and the password, shown once to the creator."""
    from caseload.offices.models import FieldOffice, Officer

    if role not in ROLES:
        raise UsageError("unknown_role", f"role must be one of {', '.join(ROLES)}, got {role!r}")
    username = check_username(username)
    officer = office = None
    if role == "officer":
        if officer_id is None:
            raise UsageError("officer_required", "an officer user needs --officer ID (their officer record)")
        officer = Officer.objects.filter(pk=officer_id).first()
        if officer is None:
            raise NotFound("unknown_officer", f"no officer with id {officer_id}")
        if officer.user_id is not None:
            raise Conflict("officer_has_user", f"officer {officer_id} is linked to user {officer.user.username!r} already")
    elif officer_id is not None:
        raise UsageError("officer_only_for_officers", "--officer is for the officer role only")
    if role == "supervisor":
        if not office_code:
            raise UsageError("office_required", "a supervisor user needs --office CODE (the office they oversee)")
        office = FieldOffice.objects.filter(code=office_code.strip().upper()).first()
        if office is None:
            raise NotFound("unknown_office", f"no field office {office_code!r}")
    elif office_code:
        raise UsageError("office_only_for_supervisors", "--office is for the supervisor role only "
                                                         "(an officer's office comes from their officer record)")
    if User.objects.filter(username=username).exists():
        raise Conflict("user_exists", f"a user named {username!r} exists already")
    generated = password is None
    password = password if password is not None else secrets.token_urlsafe(15)
    if not generated:
        check_password(password, user=User(username=username))
    with transaction.atomic():
        user = User.objects.create_user(username=username, password=password,
                                        is_staff=role == "administrator", is_superuser=role == "administrator")
        user.groups.add(Group.objects.get(name=role))
        Account.objects.create(user=user, office=office)
        if officer is not None:
            officer.user = user
            officer.save(update_fields=["user"])
        audit.record(action="user.created", actor=actor, actor_label=actor_label, object_type="user", object_id=user.pk,
                     office_id=office.pk if office else (officer.office_id if officer else None),
                     details={"username": username, "role": role, "officer": officer.pk if officer else None,
                              "office": office.code if office else None})
    return user, password


def list_users() -> list[dict]:
    rows = []
    for user in User.objects.order_by("username").prefetch_related("groups"):
        officer = officer_of(user)
        office_id = office_id_of(user)
        office_code = None
        if office_id:
            from caseload.offices.models import FieldOffice

            office_code = FieldOffice.objects.filter(pk=office_id).values_list("code", flat=True).first()
        rows.append({"username": user.username, "role": role_of(user) if user.is_active else _stored_role(user),
                     "office": office_code, "officer": officer.pk if officer else None, "active": user.is_active,
                     "last_login": user.last_login.isoformat() if user.last_login else None})
    return rows


def _stored_role(user: User) -> str | None:
    names = set(user.groups.values_list("name", flat=True))
    return next((r for r in ROLES if r in names), "administrator" if user.is_superuser else None)


def do_deactivate_user(*, username: str, actor=None, actor_label: str | None = None) -> User:
    """The account can no longer sign in; its history and audit trail stay."""
    user = access_user(username)
    with transaction.atomic():
        user.is_active = False
        user.save(update_fields=["is_active"])
        from django.contrib.sessions.models import Session

        for session in Session.objects.all().iterator():
            if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
                session.delete()
        audit.record(action="user.deactivated", actor=actor, actor_label=actor_label, object_type="user",
                     object_id=user.pk, details={"username": user.username})
    return user


def do_set_password(*, username: str, password: str, actor=None, actor_label: str | None = None) -> User:
    user = access_user(username)
    check_password(password, user=user)
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        audit.record(action="user.password_set", actor=actor, actor_label=actor_label, object_type="user",
                     object_id=user.pk, details={"username": user.username})
    return user


def mfa_required(user) -> bool:
    return role_of(user) in settings.MFA_ROLES


def do_enrol_mfa(*, username: str, actor=None, actor_label: str | None = None) -> dict:
    """Give the user a new TOTP device (replacing any earlier one) and return its secret and
    ``otpauth://`` URI, to be shown once and entered into an authenticator app."""
    import base64

    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = access_user(username)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
        audit.record(action="user.mfa_enrolled", actor=actor, actor_label=actor_label, object_type="user",
                     object_id=user.pk, details={"username": user.username, "device": device.pk})
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return {"username": user.username, "secret": secret, "uri": device.config_url}


def check_sign_in_code(user, token: str):
    """The user's TOTP device that accepts this code, or a UsageError (code missing or wrong)."""
    from django_otp import match_token

    token = (token or "").strip().replace(" ", "")
    if not token:
        raise UsageError("mfa_code_required", "Your role signs in with an authentication code from your authenticator app.")
    device = match_token(user, token)
    if device is None:
        from django_otp.plugins.otp_totp.models import TOTPDevice

        if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            raise UsageError("mfa_not_enrolled", "Your account has no authenticator enrolled; ask an administrator "
                                                  "to run `caseload users mfa` for you.")
        raise UsageError("mfa_code_wrong", "That authentication code is not valid. Enter the current code.")
    return device


DEMO_USERS = (("demo-officer", "officer"), ("demo-supervisor", "supervisor"), ("demo-analyst", "hq_analyst"),
              ("demo-auditor", "auditor"), ("demo-admin", "administrator"))


def do_add_demo_users(*, office_code: str = "WAS", actor_label: str) -> list[dict]:
    """One user per role for a demonstration database: the officer linked to the officer of
    ``office_code`` with the most open cases, the supervisor to that office. Users that exist
    already are left as they are (their passwords are not shown again)."""
    from django.db.models import Count, Q

    from caseload.docket.models import CaseStatus
    from caseload.offices.models import Officer

    def busiest_officer() -> int:
        busiest = (Officer.objects.filter(office__code=office_code, user__isnull=True)
                   .annotate(n=Count("cases", filter=Q(cases__status=CaseStatus.OPEN))).order_by("-n", "id").first())
        if busiest is None:
            raise NotFound("no_officer", f"office {office_code} has no officer without a user to link the demo officer to")
        return busiest.pk

    rows = []
    for username, role in DEMO_USERS:
        existing = User.objects.filter(username=username).first()
        if existing is not None:
            row = {"username": username, "role": role, "password": None, "created": False}
            if role == "officer" and officer_of(existing) is None:
                # The docket was generated anew: link the user to the new busiest officer.
                officer = Officer.objects.get(pk=busiest_officer())
                with transaction.atomic():
                    officer.user = existing
                    officer.save(update_fields=["user"])
                    audit.record(action="user.linked", actor_label=actor_label, object_type="user", object_id=existing.pk,
                                 office_id=officer.office_id, details={"officer": officer.pk})
                row["officer"] = officer.pk
            rows.append(row)
            continue
        officer_id = busiest_officer() if role == "officer" else None
        _, password = do_add_user(username=username, role=role, officer_id=officer_id,
                                  office_code=office_code if role == "supervisor" else None, actor_label=actor_label)
        rows.append({"username": username, "role": role, "password": password, "created": True,
                     **({"officer": officer_id} if officer_id else {})})
    return rows


def do_unlock_user(*, username: str, actor=None, actor_label: str | None = None) -> int:
    """Clear the failed sign-ins recorded for this user name (django-axes), ending a lock-out."""
    from axes.utils import reset

    user = access_user(username)
    cleared = reset(username=user.username)
    audit.record(action="user.unlocked", actor=actor, actor_label=actor_label, object_type="user", object_id=user.pk,
                 details={"username": user.username, "attempts_cleared": cleared})
    return cleared
