"""Template tags for other pages: `{% load subscriptions %}{% subscribe_form %}` puts the
subscribe form (with the component choices) in any page, such as the home page."""

from __future__ import annotations

from django import template
from django.conf import settings

from notifications.forms import SubscribeForm, component_choices

register = template.Library()


@register.inclusion_tag("notifications/_subscribe_form.html")
def subscribe_form() -> dict[str, object]:
    return {
        "form": SubscribeForm(),
        "component_groups": component_choices(set()),
        "confirm_hours": settings.NOTIFY_CONFIRM_MAX_AGE_HOURS,
    }
