"""Pages of the countries app."""

urlpatterns: list = []
