"""The auditor's pages under /audit/ (not the Django admin)."""

from django.urls import path

from caseload.core import views

app_name = "audit"
urlpatterns = [
    path("", views.events_page, name="events"),
    path("verify/", views.verify_page, name="verify"),
    path("who-read/", views.who_read_page, name="who_read"),
]
