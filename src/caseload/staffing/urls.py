"""Pages of the staffing app."""

urlpatterns: list = []
