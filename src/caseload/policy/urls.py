"""Pages of the policy app: the procedures manual and the rule sets."""

from django.urls import path

from caseload.policy import views

app_name = "policy"
urlpatterns = [
    path("", views.rule_sets, name="rule_sets"),
    path("manual/", views.manual_index, name="manual"),
    path("manual/diff/", views.manual_diff, name="manual_diff"),
    path("manual/<str:number>/", views.manual_section, name="manual_section"),
]
