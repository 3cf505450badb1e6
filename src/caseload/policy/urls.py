"""Pages of the policy app."""

urlpatterns: list = []
