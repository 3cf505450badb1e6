"""Pages of the forecast app, mounted at /planning/forecast/."""

from django.urls import path

from caseload.forecast import views

app_name = "forecast"
urlpatterns = [
    path("", views.page, name="page"),
    path("status/", views.status, name="status"),
]
