"""Roles (Django groups) and the predicates built on them (docs/data-model.md, roles)."""

from __future__ import annotations

import rules
from django.contrib.auth.models import Group

ROLES = {
    "officer": "works the cases assigned to them",
    "supervisor": "oversees the officers and cases of one office",
    "hq_analyst": "reads the whole docket for planning",
    "auditor": "reads the whole docket and the audit log",
    "administrator": "manages users, reference data and settings",
}


def ensure_roles() -> int:
    for name in ROLES:
        Group.objects.get_or_create(name=name)
    return len(ROLES)


is_officer = rules.is_group_member("officer")
is_supervisor = rules.is_group_member("supervisor")
is_hq_analyst = rules.is_group_member("hq_analyst")
is_auditor = rules.is_group_member("auditor")
is_administrator = rules.is_group_member("administrator") | rules.is_superuser
reads_national_docket = is_hq_analyst | is_auditor | is_administrator

rules.add_perm("core.view_auditevent", is_auditor | is_administrator)
rules.add_perm("docket.view_national_summary", reads_national_docket | is_supervisor | is_officer)
