"""Pages of the training app."""

from django.urls import path

from caseload.training import views

app_name = "training"
urlpatterns = [path("", views.compliance_page, name="compliance")]
