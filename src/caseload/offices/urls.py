"""Pages of a field office: the supervisor's home, its overdue lists and the balancing preview."""

from django.urls import path

from caseload.offices import views

app_name = "offices"

urlpatterns = [
    path("<str:code>/", views.office, name="office"),
    path("<str:code>/overdue/", views.overdue, name="overdue"),
    path("<str:code>/balance/", views.balance, name="balance"),
]
