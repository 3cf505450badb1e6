"""Who may see staffing figures (django-rules; autodiscovered)."""

import rules

from caseload.core.permissions import is_administrator, is_auditor, is_hq_analyst, is_supervisor

rules.add_perm("staffing.view_capacity", is_supervisor | is_hq_analyst | is_auditor | is_administrator)
