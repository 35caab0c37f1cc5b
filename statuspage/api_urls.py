"""Routes of the public Statuspage-compatible JSON API."""

urlpatterns: list = []
