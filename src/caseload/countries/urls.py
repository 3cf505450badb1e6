"""Pages of the countries app."""

from django.urls import path

from caseload.countries import views

app_name = "countries"
urlpatterns = [
    path("", views.report_page, name="report"),
    path("<str:code>/escalation/", views.escalation_page, name="escalation"),
]
