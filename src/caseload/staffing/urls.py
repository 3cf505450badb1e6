"""Pages of the staffing app."""

from django.urls import path

from caseload.staffing import views

urlpatterns = [path("<str:code>/", views.office_capacity, name="staffing-office")]
