"""Pages of the docket app: the officer's worklist, finding a person, cases and their actions."""

from django.urls import path

from caseload.docket import views

app_name = "docket"
urlpatterns = [
    path("worklist/", views.worklist, name="worklist"),
    path("cases/search/", views.case_search, name="search"),
    path("cases/new/", views.case_new, name="case_new"),
    path("cases/<int:case_id>/", views.case_detail, name="case"),
    path("cases/<int:case_id>/<str:action>/", views.case_action, name="case_action"),
]
