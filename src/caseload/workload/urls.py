"""Pages of the workload app."""

from django.urls import path

from caseload.workload import views

app_name = "workload"
urlpatterns = [path("timelog/", views.timelog, name="timelog")]
