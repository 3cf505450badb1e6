"""Accounts: every role signs in at /accounts/login/; failed sign-ins are throttled; the roles
in MFA_ROLES need a TOTP code; sign-ins, sign-outs and admin edits are audit events."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import override_settings
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from caseload.core.models import AuditEvent
from caseload.core.permissions import ROLES
from caseload.core.users import do_enrol_mfa
from caseload.offices.models import FieldOffice
from tests import factories

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-test-password-7"


def _sign_in(client, username: str, password: str = PASSWORD, code: str = ""):
    return client.post("/accounts/login/", {"username": username, "password": password, "otp_token": code})


@pytest.mark.parametrize("role", list(ROLES))
def test_every_role_signs_in_and_out(client, role):
    user = factories.user(role, f"u-{role}", office_code="WAS" if role == "supervisor" else None)
    page = client.get("/accounts/login/")
    assert page.status_code == 200 and b'name="username"' in page.content
    response = _sign_in(client, user.username)
    assert response.status_code == 302 and response["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200 and f'data-role="{role}"'.encode() in home.content
    assert AuditEvent.objects.filter(action="auth.signed_in", actor=user).count() == 1
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/").status_code == 302
    assert AuditEvent.objects.filter(action="auth.signed_out", actor=user).count() == 1
    assert User.objects.get(pk=user.pk).is_staff == (role == "administrator")


def test_a_wrong_password_is_refused_and_audited(client):
    factories.user("hq_analyst", "analyst")
    response = _sign_in(client, "analyst", "not-the-password")
    assert response.status_code == 200 and b"Please enter a correct" in response.content
    event = AuditEvent.objects.get(action="auth.sign_in_failed")
    assert event.details["username"] == "analyst" and event.actor_id is None


def test_failed_sign_ins_lock_the_user_name(client):
    factories.user("hq_analyst", "analyst")
    assert settings.AXES_FAILURE_LIMIT == 5
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(client, "analyst", "wrong-password-x")
    locked = _sign_in(client, "analyst")  # the right password, too late
    assert locked.status_code == 429 and b"Sign-in locked" in locked.content
    assert client.get("/").status_code == 302
    other = _sign_in(client.__class__(), "analyst", PASSWORD)  # same address, same name: still locked
    assert other.status_code == 429
    from caseload.core.users import do_unlock_user

    assert do_unlock_user(username="analyst", actor_label="test") >= 1
    assert _sign_in(client, "analyst").status_code == 302


def test_a_deactivated_user_cannot_sign_in(client):
    from caseload.core.users import do_deactivate_user

    factories.user("auditor", "inspector")
    do_deactivate_user(username="inspector", actor_label="test")
    assert _sign_in(client, "inspector").status_code == 200
    assert client.get("/").status_code == 302


@override_settings(MFA_ROLES=frozenset({"auditor", "administrator"}))
def test_roles_in_mfa_roles_need_a_totp_code(client):
    factories.user("auditor", "inspector")
    not_enrolled = _sign_in(client, "inspector", code="123456")
    assert not_enrolled.status_code == 200 and b"no authenticator enrolled" in not_enrolled.content
    enrolment = do_enrol_mfa(username="inspector", actor_label="test")
    assert enrolment["uri"].startswith("otpauth://totp/") and len(enrolment["secret"]) >= 16
    device = TOTPDevice.objects.get(user__username="inspector")
    no_code = _sign_in(client, "inspector")
    assert no_code.status_code == 200 and b"authentication code" in no_code.content
    assert _sign_in(client, "inspector", code="000000" if totp(device.bin_key) != 0 else "111111").status_code == 200
    assert client.get("/audit/").status_code == 302
    device.refresh_from_db()
    assert device.throttling_failure_count == 1  # django-otp slows down guessing after a wrong code
    device.throttle_reset()
    good = _sign_in(client, "inspector", code=f"{totp(device.bin_key):06d}")
    assert good.status_code == 302
    assert client.get("/audit/").status_code == 200


@override_settings(MFA_ROLES=frozenset({"auditor"}))
def test_a_session_without_a_verified_code_is_ended(client):
    """A session that did not prove a code (e.g. from before the setting) is signed out."""
    client.force_login(factories.user("auditor", "inspector"))
    response = client.get("/audit/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?mfa=required"
    assert client.get("/").status_code == 302


def test_other_roles_sign_in_without_a_code_when_mfa_is_on(client):
    with override_settings(MFA_ROLES=frozenset({"auditor"})):
        factories.user("hq_analyst", "analyst")
        assert _sign_in(client, "analyst").status_code == 302
        assert client.get("/").status_code == 200


def test_idle_sessions_expire():
    assert settings.SESSION_COOKIE_AGE == settings.SESSION_IDLE_MINUTES * 60 == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is True


def test_password_change(client):
    factories.user("hq_analyst", "analyst")
    _sign_in(client, "analyst")
    weak = client.post("/accounts/password/", {"old_password": PASSWORD, "new_password1": "short", "new_password2": "short"})
    assert weak.status_code == 200 and b"too short" in weak.content
    done = client.post("/accounts/password/", {"old_password": PASSWORD, "new_password1": "another-long-password-9",
                                                "new_password2": "another-long-password-9"})
    assert done.status_code == 302 and done["Location"] == "/accounts/password/done/"
    assert User.objects.get(username="analyst").check_password("another-long-password-9")


def test_admin_edits_are_audit_events(client):
    admin = factories.user("administrator", "admin1")
    client.force_login(admin)
    office = FieldOffice.objects.get(code="BOS")
    page = client.get(f"/admin/offices/fieldoffice/{office.pk}/change/")
    assert page.status_code == 200
    response = client.post(f"/admin/offices/fieldoffice/{office.pk}/change/",
                           {"code": "BOS", "name": "Boston field office", "active": "on"})
    assert response.status_code == 302, response.content[:2000]
    event = AuditEvent.objects.get(action="admin.changed")
    assert event.actor_id == admin.pk and event.object_type == "offices.fieldoffice" and event.object_id == str(office.pk)
    assert "Name" in event.details["change"] or "name" in event.details["change"].lower()
