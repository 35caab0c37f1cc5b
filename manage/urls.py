"""Routes of the Manage API v1 (mounted at /api/v1/). Every path also answers with `.json`
appended, as Statuspage's does."""

from __future__ import annotations

from django.urls import URLPattern, re_path

from manage.http import Route, endpoint, not_found
from manage.views import components as c
from manage.views import incidents as i
from manage.views import pages as p
from manage.views import subscribers as s
from manage.views import templates as t
from manage.views import uptime as u

PAGE = r"pages/(?P<page_id>[^/]+?)"


def route(pattern: str, name: str, **routes: Route) -> URLPattern:
    return re_path(rf"^{pattern}(?:\.json)?$", endpoint(**routes), name=f"manage-{name}")


VIEW_COMPONENT = "statuspage.view_component"
CHANGE_COMPONENT = "statuspage.change_component"
VIEW_GROUP = "statuspage.view_componentgroup"
CHANGE_GROUP = "statuspage.change_componentgroup"
VIEW_INCIDENT = "incidents.view_incident"
CHANGE_INCIDENT = "incidents.change_incident"
VIEW_SUBSCRIBER = "notifications.view_subscriber"
CHANGE_SUBSCRIBER = "notifications.change_subscriber"

urlpatterns = [
    route("pages", "pages", GET=(p.list_pages, None)),
    route(
        PAGE,
        "page",
        GET=(p.get_page, None),
        PATCH=(p.update_page, "statuspage.change_pagesettings"),
        PUT=(p.update_page, "statuspage.change_pagesettings"),
    ),
    route(
        rf"{PAGE}/components",
        "components",
        GET=(c.list_components, VIEW_COMPONENT),
        POST=(c.create_component, "statuspage.add_component"),
    ),
    route(
        rf"{PAGE}/components/(?P<component_id>[^/.]+)",
        "component",
        GET=(c.get_component, VIEW_COMPONENT),
        PATCH=(c.update_component, CHANGE_COMPONENT),
        PUT=(c.update_component, CHANGE_COMPONENT),
        DELETE=(c.delete_component, "statuspage.delete_component"),
    ),
    route(
        rf"{PAGE}/component-groups",
        "groups",
        GET=(c.list_groups, VIEW_GROUP),
        POST=(c.create_group, ("statuspage.add_componentgroup", CHANGE_COMPONENT)),
    ),
    route(
        rf"{PAGE}/component-groups/(?P<group_id>[^/.]+)",
        "group",
        GET=(c.get_group, VIEW_GROUP),
        PATCH=(c.update_group, (CHANGE_GROUP, CHANGE_COMPONENT)),
        PUT=(c.update_group, (CHANGE_GROUP, CHANGE_COMPONENT)),
        DELETE=(c.delete_group, ("statuspage.delete_componentgroup", CHANGE_COMPONENT)),
    ),
    route(
        rf"{PAGE}/incidents",
        "incidents",
        GET=(i.list_incidents, VIEW_INCIDENT),
        POST=(i.create_incident, "incidents.add_incident"),
    ),
    route(rf"{PAGE}/incidents/unresolved", "unresolved", GET=(i.list_unresolved, VIEW_INCIDENT)),
    route(rf"{PAGE}/incidents/upcoming", "upcoming", GET=(i.list_upcoming, VIEW_INCIDENT)),
    route(rf"{PAGE}/incidents/scheduled", "scheduled", GET=(i.list_scheduled, VIEW_INCIDENT)),
    route(
        rf"{PAGE}/incidents/active_maintenance",
        "active-maintenance",
        GET=(i.list_active_maintenance, VIEW_INCIDENT),
    ),
    route(
        rf"{PAGE}/incidents/(?P<incident_id>[^/.]+)",
        "incident",
        GET=(i.get_incident, VIEW_INCIDENT),
        PATCH=(i.update_incident, CHANGE_INCIDENT),
        PUT=(i.update_incident, CHANGE_INCIDENT),
        DELETE=(i.delete_incident, "incidents.delete_incident"),
    ),
    route(
        rf"{PAGE}/incidents/(?P<incident_id>[^/.]+)/incident_updates/(?P<update_id>[^/.]+)",
        "incident-update",
        PATCH=(i.update_incident_update, CHANGE_INCIDENT),
        PUT=(i.update_incident_update, CHANGE_INCIDENT),
    ),
    route(
        rf"{PAGE}/incidents/(?P<incident_id>[^/.]+)/postmortem",
        "postmortem",
        GET=(i.get_postmortem, VIEW_INCIDENT),
        PUT=(i.save_postmortem, CHANGE_INCIDENT),
        DELETE=(i.delete_postmortem, CHANGE_INCIDENT),
    ),
    route(
        rf"{PAGE}/incidents/(?P<incident_id>[^/.]+)/postmortem/publish",
        "postmortem-publish",
        PUT=(i.publish_postmortem, CHANGE_INCIDENT),
    ),
    route(
        rf"{PAGE}/incidents/(?P<incident_id>[^/.]+)/postmortem/revert",
        "postmortem-revert",
        PUT=(i.revert_postmortem, CHANGE_INCIDENT),
    ),
    route(
        rf"{PAGE}/components/(?P<component_id>[^/.]+)/uptime",
        "component-uptime",
        GET=(u.component_uptime, VIEW_COMPONENT),
    ),
    route(
        rf"{PAGE}/component-groups/(?P<group_id>[^/.]+)/uptime",
        "group-uptime",
        GET=(u.group_uptime, (VIEW_GROUP, VIEW_COMPONENT)),
    ),
    route(
        rf"{PAGE}/incident_templates",
        "templates",
        GET=(t.list_templates, "incidents.view_incidenttemplate"),
        POST=(t.create_template, "incidents.add_incidenttemplate"),
    ),
    route(
        rf"{PAGE}/subscribers",
        "subscribers",
        GET=(s.list_subscribers, VIEW_SUBSCRIBER),
        POST=(s.create_subscriber, "notifications.add_subscriber"),
    ),
    route(
        rf"{PAGE}/subscribers/count",
        "subscribers-count",
        GET=(s.count_subscribers, VIEW_SUBSCRIBER),
    ),
    route(
        rf"{PAGE}/subscribers/unsubscribe",
        "subscribers-unsubscribe",
        POST=(s.unsubscribe_many, CHANGE_SUBSCRIBER),
    ),
    route(
        rf"{PAGE}/subscribers/resend_confirmation",
        "subscribers-resend",
        POST=(s.resend_many, CHANGE_SUBSCRIBER),
    ),
    route(
        rf"{PAGE}/subscribers/(?P<subscriber_id>[^/.]+)",
        "subscriber",
        GET=(s.get_subscriber, VIEW_SUBSCRIBER),
        PATCH=(s.update_subscriber, CHANGE_SUBSCRIBER),
        DELETE=(s.delete_subscriber, CHANGE_SUBSCRIBER),
    ),
    route(
        rf"{PAGE}/subscribers/(?P<subscriber_id>[^/.]+)/resend_confirmation",
        "subscriber-resend",
        POST=(s.resend_one, CHANGE_SUBSCRIBER),
    ),
    # Anything else under /api/v1/ is Statuspage's JSON 404, never the site's HTML page.
    re_path(r"^.*$", not_found),
]
