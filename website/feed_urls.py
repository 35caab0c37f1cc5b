"""Routes of the Atom/RSS feeds and the status badges (the widget is a static file)."""

from django.urls import path

from website import badges, feeds

urlpatterns = [
    path("history.atom", feeds.HistoryAtomFeed(), name="history-atom"),
    path("history.rss", feeds.HistoryRssFeed(), name="history-rss"),
    path("badge.svg", badges.page_badge, name="badge"),
    path("badge/<str:public_id>.svg", badges.component_badge, name="component-badge"),
]
