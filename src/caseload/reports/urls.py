"""Pages of the reports app."""

from django.urls import path

from caseload.reports import views

app_name = "reports"
urlpatterns = [path("management/", views.management, name="management")]
