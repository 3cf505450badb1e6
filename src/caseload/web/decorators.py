"""Page access by role: the one decorator every page view carries.

``require_role(*roles)`` lets the named roles through; a signed-in user of another role gets
the app's 403 page, an anonymous visitor the sign-in page (LoginRequiredMiddleware). The
roles are kept on the view (``view.allowed_roles``) so the role × URL test reads them from the
URL configuration itself. Objects outside a permitted user's scope are a 404 from the
``access_*`` services, not from here.
"""

from __future__ import annotations

from caseload.core.access import role_guard
from caseload.core.errors import Forbidden
from caseload.core.permissions import ROLES

ALL_ROLES = tuple(ROLES)
NATIONAL_READERS = ("hq_analyst", "auditor", "administrator")


def require_role(*roles: str):
    return role_guard(roles, lambda role: Forbidden(
        "role_not_allowed", "This page is not available to your role"
        + (f" ({role.replace('_', ' ')})." if role else " (your account has no role).")))
