"""Routes of the Atom/RSS feeds, badges and the embeddable widget."""

urlpatterns: list = []
