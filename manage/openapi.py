"""The OpenAPI 3.1 document of what we serve: the public v2 API and the Manage API v1.

Built here from the routes' own declarations (`manage.urls`: methods and permissions), so a
route cannot be added without appearing; served at /api/openapi.json. The test suite checks
real answers of each documented operation against these schemas.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

Json = dict[str, Any]

TIME = {"type": ["string", "null"], "format": "date-time"}
TEXT = {"type": ["string", "null"]}
STR = {"type": "string"}
BOOL = {"type": "boolean"}
IDS = {"type": "array", "items": STR}
COMPONENT_STATUS = {
    "type": "string",
    "enum": [
        "operational",
        "degraded_performance",
        "partial_outage",
        "major_outage",
        "under_maintenance",
    ],
}
INCIDENT_STATUS = {
    "type": "string",
    "enum": ["investigating", "identified", "monitoring", "resolved", "postmortem",
             "scheduled", "in_progress", "verifying", "completed"],
}  # fmt: skip
IMPACT = {"type": "string", "enum": ["none", "minor", "major", "critical", "maintenance"]}


def ref(name: str) -> Json:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required: dict[str, Any], **optional: Any) -> Json:
    return {
        "type": "object",
        "required": sorted(required),
        "properties": {**required, **optional},
    }


def array(item: Json) -> Json:
    return {"type": "array", "items": item}


SCHEMAS: dict[str, Json] = {
    "Error": obj({"error": {"oneOf": [STR, array(STR)]}}),
    "Page": obj({"id": STR, "name": STR, "url": STR, "time_zone": STR, "updated_at": TIME}),
    "Status": obj(
        {
            "indicator": {"type": "string", "enum": ["none", "minor", "major", "critical"]},
            "description": STR,
        }
    ),
    "Component": obj(
        {
            "id": STR,
            "name": STR,
            "status": COMPONENT_STATUS,
            "created_at": TIME,
            "updated_at": TIME,
            "position": {"type": "integer"},
            "description": TEXT,
            "showcase": BOOL,
            "start_date": {"type": ["string", "null"], "format": "date"},
            "group_id": TEXT,
            "page_id": STR,
            "group": BOOL,
            "only_show_if_degraded": BOOL,
        },
        components=IDS,
        automation_email=TEXT,
    ),  # fmt: skip
    "AffectedComponent": obj(
        {"code": STR, "name": STR, "old_status": COMPONENT_STATUS, "new_status": COMPONENT_STATUS}
    ),
    "IncidentUpdate": obj(
        {
            "id": STR,
            "status": INCIDENT_STATUS,
            "body": STR,
            "incident_id": STR,
            "created_at": TIME,
            "updated_at": TIME,
            "display_at": TIME,
            "affected_components": {"oneOf": [array(ref("AffectedComponent")), {"type": "null"}]},
            "deliver_notifications": BOOL,
        }
    ),  # fmt: skip
    "Incident": obj(
        {
            "id": STR,
            "name": STR,
            "status": INCIDENT_STATUS,
            "impact": IMPACT,
            "created_at": TIME,
            "updated_at": TIME,
            "started_at": TIME,
            "monitoring_at": TIME,
            "resolved_at": TIME,
            "shortlink": STR,
            "page_id": STR,
            "incident_updates": array(ref("IncidentUpdate")),
            "components": array(ref("Component")),
        },
        scheduled_for=TIME,
        scheduled_until=TIME,
    ),  # fmt: skip
    "ManageIncident": {
        "allOf": [
            ref("Incident"),
            obj(
                {
                    "impact_override": {"oneOf": [IMPACT, {"type": "null"}]},
                    "metadata": {"type": "object"},
                    "postmortem_body": TEXT,
                    "postmortem_body_last_updated_at": TIME,
                    "postmortem_ignored": BOOL,
                    "postmortem_notified_subscribers": BOOL,
                    "postmortem_published_at": TIME,
                    "scheduled_for": TIME,
                    "scheduled_until": TIME,
                    "scheduled_remind_prior": {"type": ["boolean", "null"]},
                    "scheduled_auto_in_progress": {"type": ["boolean", "null"]},
                    "scheduled_auto_completed": {"type": ["boolean", "null"]},
                    "auto_transition_to_maintenance_state": {"type": ["boolean", "null"]},
                    "auto_transition_to_operational_state": {"type": ["boolean", "null"]},
                },
            ),
        ]
    },  # fmt: skip
    "ComponentGroup": obj(
        {
            "id": STR,
            "page_id": STR,
            "name": STR,
            "description": TEXT,
            "components": IDS,
            "position": {"type": "integer"},
            "created_at": TIME,
            "updated_at": TIME,
        }
    ),  # fmt: skip
    "Uptime": obj(
        {
            "id": STR,
            "name": STR,
            "range_start": STR,
            "range_end": STR,
            "uptime_percentage": {"type": ["number", "null"]},
            "major_outage": {"type": "integer"},
            "partial_outage": {"type": "integer"},
            "warnings": IDS,
            "related_events": array(obj({"id": STR, "name": STR})),
        }
    ),  # fmt: skip
    "Postmortem": obj(
        {
            "body": TEXT,
            "body_draft": TEXT,
            "body_updated_at": TIME,
            "body_draft_updated_at": TIME,
            "published_at": TIME,
            "notify_subscribers": BOOL,
            "notify_twitter": BOOL,
            "custom_tweet": TEXT,
            "created_at": TIME,
            "updated_at": TIME,
            "preview_key": TEXT,
        }
    ),  # fmt: skip
    "Subscriber": obj(
        {
            "id": STR,
            "mode": STR,
            "email": TEXT,
            "endpoint": TEXT,
            "skip_confirmation_notification": BOOL,
            "quarantined_at": TIME,
            "purge_at": TIME,
            "components": IDS,
            "created_at": TIME,
        }
    ),  # fmt: skip
    "IncidentTemplate": obj(
        {
            "id": STR,
            "name": STR,
            "title": STR,
            "body": STR,
            "group_id": TEXT,
            "update_status": INCIDENT_STATUS,
            "should_tweet": BOOL,
            "should_send_notifications": BOOL,
            "components": array(ref("Component")),
        }
    ),  # fmt: skip
    "ManagePage": obj(
        {
            "id": STR,
            "name": STR,
            "url": STR,
            "time_zone": STR,
            "created_at": TIME,
            "updated_at": TIME,
            "allow_page_subscribers": BOOL,
            "allow_incident_subscribers": BOOL,
            "allow_email_subscribers": BOOL,
            "allow_webhook_subscribers": BOOL,
            "allow_sms_subscribers": BOOL,
            "allow_rss_atom_feeds": BOOL,
            "hidden_from_search": BOOL,
            "notifications_from_email": STR,
            **dict.fromkeys(
                ("headline", "page_description", "support_url", "notifications_email_footer"),
                STR,
            ),
            **dict.fromkeys(
                (
                    "css_body_background_color",
                    "css_font_color",
                    "css_light_font_color",
                    "css_link_color",
                    "css_border_color",
                    "css_greens",
                    "css_yellows",
                    "css_oranges",
                    "css_reds",
                    "css_blues",
                    "css_graph_color",
                    "css_no_data",
                    "favicon_logo",
                    "transactional_logo",
                    "email_logo",
                    "hero_cover",
                ),
                TEXT,
            ),
        }
    ),  # fmt: skip
    "Count": obj({"count": {"type": "integer"}}),
    "Accepted": {"type": "object"},
}

# v2: path -> the body's schema.
_V2 = {
    "/api/v2/summary.json": obj(
        {"page": ref("Page"), "status": ref("Status"), "components": array(ref("Component")),
         "incidents": array(ref("Incident")), "scheduled_maintenances": array(ref("Incident"))}
    ),
    "/api/v2/status.json": obj({"page": ref("Page"), "status": ref("Status")}),
    "/api/v2/components.json": obj({"page": ref("Page"), "components": array(ref("Component"))}),
    "/api/v2/incidents.json": obj({"page": ref("Page"), "incidents": array(ref("Incident"))}),
    "/api/v2/incidents/unresolved.json": obj(
        {"page": ref("Page"), "incidents": array(ref("Incident"))}
    ),
    "/api/v2/incidents/{incident_id}.json": obj({"page": ref("Page"), "incident": ref("Incident")}),
    "/api/v2/scheduled-maintenances.json": obj(
        {"page": ref("Page"), "scheduled_maintenances": array(ref("Incident"))}
    ),
    "/api/v2/scheduled-maintenances/upcoming.json": obj(
        {"page": ref("Page"), "scheduled_maintenances": array(ref("Incident"))}
    ),
    "/api/v2/scheduled-maintenances/active.json": obj(
        {"page": ref("Page"), "scheduled_maintenances": array(ref("Incident"))}
    ),
    "/api/v2/scheduled-maintenances/{incident_id}.json": obj(
        {"page": ref("Page"), "scheduled_maintenance": ref("Incident")}
    ),
}  # fmt: skip

# v1: route name -> (the answer's schema, whether it is a list, the request body's wrapper).
_V1: dict[str, tuple[str, bool, str | None]] = {
    "pages": ("ManagePage", True, None),
    "page": ("ManagePage", False, "page"),
    "components": ("Component", True, "component"),
    "component": ("Component", False, "component"),
    "component-uptime": ("Uptime", False, None),
    "groups": ("ComponentGroup", True, "component_group"),
    "group": ("ComponentGroup", False, "component_group"),
    "group-uptime": ("Uptime", False, None),
    "incidents": ("ManageIncident", True, "incident"),
    "unresolved": ("ManageIncident", True, None),
    "upcoming": ("ManageIncident", True, None),
    "scheduled": ("ManageIncident", True, None),
    "active-maintenance": ("ManageIncident", True, None),
    "incident": ("ManageIncident", False, "incident"),
    "incident-update": ("IncidentUpdate", False, "incident_update"),
    "postmortem": ("Postmortem", False, "postmortem"),
    "postmortem-publish": ("Postmortem", False, "postmortem"),
    "postmortem-revert": ("Postmortem", False, None),
    "templates": ("IncidentTemplate", True, "template"),
    "subscribers": ("Subscriber", True, "subscriber"),
    "subscribers-count": ("Count", False, None),
    "subscribers-unsubscribe": ("Accepted", False, None),
    "subscribers-resend": ("Accepted", False, None),
    "subscriber": ("Subscriber", False, "subscriber"),
    "subscriber-resend": ("Subscriber", False, None),
}

_ERRORS = {
    "400": "The body cannot be read (not JSON, or a bad form field name).",
    "401": "No key, or a bad or revoked key.",
    "403": "The key's owner lacks the permission.",
    "404": "No such page or object.",
    "422": "A field is missing or has a value not allowed.",
    "429": "Over the key's rate limit; see Retry-After.",
}


def _v1_path(pattern: str) -> str:
    path = pattern.lstrip("^").replace(r"(?:\.json)?$", "")
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", path)
    return "/api/v1/" + path


def _operation(name: str, method: str, permission: Any) -> Json:
    schema_name, listed, wrapper = _V1[name]
    answer = array(ref(schema_name)) if listed and method == "GET" else ref(schema_name)
    status = "201" if method == "POST" and name in ("components", "groups", "incidents",
                                                       "templates", "subscribers",
                                                       "subscriber-resend") else (
        "202" if name in ("subscribers-unsubscribe", "subscribers-resend") else "200")  # fmt: skip
    needed = [permission] if isinstance(permission, str) else list(permission or [])
    operation: Json = {
        "operationId": f"{method.lower()}_{name.replace('-', '_')}",
        "description": "Needs: " + (", ".join(needed) or "a valid key"),
        "security": [{"oauth_key": []}, {"api_key": []}],
        "responses": {
            status: {"description": "Success", "content": {"application/json": {"schema": answer}}},
            **{
                code: {
                    "description": text,
                    "content": {"application/json": {"schema": ref("Error")}},
                }
                for code, text in _ERRORS.items()
            },
        },
    }
    if method in ("POST", "PUT", "PATCH") and wrapper is not None:
        body = obj({wrapper: {"type": "object"}})
        operation["requestBody"] = {
            "content": {
                "application/json": {"schema": body},
                "application/x-www-form-urlencoded": {"schema": body},
            }
        }
    return operation


def document() -> Json:
    from manage.urls import urlpatterns

    paths: Json = {}
    for path, schema in _V2.items():
        paths[path] = {
            "get": {
                "operationId": "v2_" + re.sub(r"\W+", "_", path[8:-5]).strip("_"),
                "security": [],
                "responses": {
                    "200": {
                        "description": "Success",
                        "content": {"application/json": {"schema": schema}},
                    },
                    "404": {"description": "No such incident or maintenance."},
                },
            }
        }
    for pattern in urlpatterns:
        routes = getattr(pattern.callback, "manage_routes", None)
        name = (pattern.name or "").removeprefix("manage-")
        if routes is None or name not in _V1:
            continue
        path = _v1_path(str(pattern.pattern))
        paths[path] = {
            method.lower(): _operation(name, method, permission)
            for method, (_, permission) in routes.items()
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{settings.STATUSPAGE_NAME}: status API",
            "version": "1.0.0",
            "description": (
                "The public Statuspage v2 API (no key) and the Statuspage-compatible Manage API "
                "v1 (a key: `Authorization: OAuth <key>` or `?api_key=<key>`). Every v1 path "
                f"also answers with `.json` appended. The page id is `{settings.STATUSPAGE_ID}`."
            ),
        },
        "servers": [{"url": settings.SITE_URL}],
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "oauth_key": {"type": "apiKey", "in": "header", "name": "Authorization"},
                "api_key": {"type": "apiKey", "in": "query", "name": "api_key"},
            },
        },
        "paths": paths,
    }


def openapi_json(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(
        json.dumps(document(), indent=1), content_type="application/json; charset=utf-8"
    )
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "public, max-age=300"
    return response
