"""The admin's red banner when a background process has gone silent (templates/admin/base_site.html
includes it on every admin page)."""

from typing import Any

from django import template

from health.checks import silent_processes

register = template.Library()


@register.inclusion_tag("health/admin_banner.html", takes_context=True)
def background_banner(context: template.Context) -> dict[str, Any]:
    user = getattr(context.get("request"), "user", None)
    if user is None or not user.is_staff:
        return {"alerts": []}
    return {"alerts": silent_processes()}
