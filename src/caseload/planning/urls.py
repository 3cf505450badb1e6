"""Pages of the planning app (mounted at /planning/; /planning/forecast/ belongs to the forecast app)."""

from django.urls import path

from caseload.planning import views

app_name = "planning"
urlpatterns = [
    path("staffing/", views.staffing, name="staffing"),
    path("workload/", views.workload, name="workload"),
    path("countries/", views.countries, name="countries"),
    path("countries/<str:code>/", views.country, name="country"),
    path("training/", views.training, name="training"),
    path("manual/", views.manual, name="manual"),
    path("jobs/status/", views.status, name="status"),
]
