"""Pages of the training app."""

urlpatterns: list = []
