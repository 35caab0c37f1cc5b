"""Routes of the subscription pages, under /subscriptions/."""

from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.subscribe, name="subscribe"),
    path("confirm/<str:token>", views.confirm, name="confirm"),
    path("manage/<str:token>", views.manage, name="manage"),
    path("unsubscribe/<str:token>", views.unsubscribe, name="unsubscribe"),
    path("webhooks", views.webhook_docs, name="webhook_docs"),
    path("chat", views.chat, name="chat"),
]
