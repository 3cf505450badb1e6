from django.contrib import admin
from django.urls import include, path

from caseload.web import views

urlpatterns = [
    path("", views.landing, name="landing"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("caseload.web.accounts")),
    path("admin/", admin.site.urls),
    path("audit/", include("caseload.core.urls")),
    path("", include("caseload.docket.urls")),
    path("", include("caseload.workload.urls")),
    path("policy/", include("caseload.policy.urls")),
    path("training/", include("caseload.training.urls")),
    path("countries/", include("caseload.countries.urls")),
    path("staffing/", include("caseload.staffing.urls")),
    path("office/", include("caseload.offices.urls")),
    path("planning/forecast/", include("caseload.forecast.urls")),
    path("planning/", include("caseload.planning.urls")),
    path("reports/", include("caseload.reports.urls")),
    path("api/v1/", include("caseload.api")),
]

handler403 = "caseload.web.views.forbidden"
handler404 = "caseload.web.views.not_found"
handler500 = "caseload.web.views.server_error"
