"""Audit events for sign-in, sign-out, failed sign-ins and every change made in ``/admin/``.

Django's admin writes a LogEntry for each addition, change and deletion it makes; each one
becomes an audit event in the same transaction, with the administrator as actor."""

from __future__ import annotations

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver

from caseload.core import audit

_ADMIN_ACTIONS = {ADDITION: "admin.added", CHANGE: "admin.changed", DELETION: "admin.deleted"}


def _address(request) -> str:
    return (request.META.get("REMOTE_ADDR", "") if request is not None else "")[:64]


@receiver(user_logged_in)
def _signed_in(sender, request, user, **kwargs):
    audit.record(action="auth.signed_in", actor=user, object_type="user", object_id=user.pk,
                 details={"address": _address(request)})


@receiver(user_logged_out)
def _signed_out(sender, request, user, **kwargs):
    if user is not None:
        audit.record(action="auth.signed_out", actor=user, object_type="user", object_id=user.pk,
                     details={"address": _address(request)})


@receiver(user_login_failed)
def _sign_in_failed(sender, credentials, request=None, **kwargs):
    username = str((credentials or {}).get("username", ""))[:150]
    audit.record(action="auth.sign_in_failed", actor_label="anonymous", object_type="user", object_id=username[:64],
                 details={"username": username, "address": _address(request)})


@receiver(post_save, sender=LogEntry)
def _admin_change(sender, instance: LogEntry, created: bool, **kwargs):
    if not created:
        return
    audit.record(action=_ADMIN_ACTIONS.get(instance.action_flag, "admin.changed"), actor=instance.user,
                 object_type=f"{instance.content_type.app_label}.{instance.content_type.model}" if instance.content_type else "",
                 object_id=str(instance.object_id or "")[:64],
                 details={"object": instance.object_repr, "change": instance.get_change_message()})
