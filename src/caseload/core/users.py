"""User accounts with their role (Django's auth: hashed passwords, sessions)."""

from __future__ import annotations

import secrets

from django.contrib.auth.models import Group, User
from django.db import transaction

from caseload.core import audit
from caseload.core.errors import Conflict, UsageError
from caseload.core.permissions import ROLES


def do_add_user(*, username: str, role: str, password: str | None = None, actor_label: str) -> tuple[User, str]:
    """Create a user in one role; a strong password is generated when none is given.

    Returns the user and the password (shown once to whoever created the account)."""
    if role not in ROLES:
        raise UsageError("unknown_role", f"role must be one of {', '.join(ROLES)}, got {role!r}")
    username = username.strip()
    if not username:
        raise UsageError("username_required", "a user needs a name")
    if User.objects.filter(username=username).exists():
        raise Conflict("user_exists", f"a user named {username!r} exists already")
    password = password or secrets.token_urlsafe(12)
    with transaction.atomic():
        user = User.objects.create_user(username=username, password=password,
                                        is_staff=role == "administrator", is_superuser=role == "administrator")
        user.groups.add(Group.objects.get(name=role))
        audit.record(action="user.created", actor_label=actor_label, object_type="user", object_id=user.pk,
                     details={"username": username, "role": role})
    return user, password
