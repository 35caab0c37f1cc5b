"""Template tags for other pages: `{% load subscriptions %}{% subscribe_form %}` puts the
subscribe form (with the component choices) in any page, such as the home page."""

from __future__ import annotations

from django import template
from django.conf import settings

from notifications.forms import SubscribeForm, component_choices
from statuspage.branding import current_page

register = template.Library()


@register.inclusion_tag("notifications/_subscribe_form.html")
def subscribe_form(choose_components: bool = True) -> dict[str, object]:
    """The form; without `choose_components` it links to the full form for the choice (the
    home page keeps its render small and its query count fixed that way)."""
    return {
        "form": SubscribeForm(),
        "component_groups": component_choices(set()) if choose_components else [],
        "choose_link": not choose_components,
        "confirm_hours": settings.NOTIFY_CONFIRM_MAX_AGE_HOURS,
        # An inclusion tag's template does not get the context processors' values.
        "branding": current_page(),
    }
