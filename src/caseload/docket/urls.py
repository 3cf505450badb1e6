"""Pages of the docket app."""

urlpatterns: list = []
