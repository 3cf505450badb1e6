"""Template context shared by every page: the signed-in user's role and their navigation."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse

from caseload.core.access import office_id_of, role_of

# (label, URL name, roles that see the link); links to pages not installed are left out.
OFFICE_PAGES = {"offices:office", "staffing-office"}  # take the supervisor's office code
NAVIGATION = (
    ("Overview", "landing", None),
    ("Worklist", "docket:worklist", {"officer"}),
    ("Time log", "workload:timelog", {"officer"}),
    ("Open a case", "docket:case_new", {"officer", "supervisor", "administrator"}),
    ("My office", "offices:office", {"supervisor"}),
    ("Capacity", "staffing-office", {"supervisor"}),
    ("Policy", "policy:rule_sets", None),
    ("Manual", "policy:manual", None),
    ("Training", "training:compliance", None),
    ("Countries", "countries:report", None),
    ("Planning", "planning:staffing", {"supervisor", "hq_analyst", "auditor", "administrator"}),
    ("Report", "reports:management", {"supervisor", "hq_analyst", "auditor", "administrator"}),
    ("Audit", "audit:events", {"auditor", "administrator"}),
    ("Administration", "admin:index", {"administrator"}),
)


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_links": [], "user_role": None}
    role = role_of(user)
    links = []
    for label, name, roles in NAVIGATION:
        if roles is not None and role not in roles:
            continue
        try:
            if name in OFFICE_PAGES:
                from caseload.offices.models import FieldOffice

                code = FieldOffice.objects.filter(pk=office_id_of(user)).values_list("code", flat=True).first()
                if not code:
                    continue
                url = reverse(name, args=[code])
            else:
                url = reverse(name)
        except NoReverseMatch:
            continue
        links.append({"label": label, "url": url, "current": request.path == url or (url != "/" and request.path.startswith(url))})
    return {"nav_links": links, "user_role": role}
