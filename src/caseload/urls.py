from django.contrib import admin
from django.urls import include, path

from caseload.web import views

urlpatterns = [
    path("", views.landing, name="landing"),
    path("admin/", admin.site.urls),
    path("docket/", include("caseload.docket.urls")),
    path("policy/", include("caseload.policy.urls")),
    path("training/", include("caseload.training.urls")),
    path("countries/", include("caseload.countries.urls")),
    path("staffing/", include("caseload.staffing.urls")),
]
