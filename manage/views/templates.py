"""Incident templates: list and create."""

from __future__ import annotations

from incidents.models import UNRESOLVED_INCIDENT_STATUSES, IncidentStatus, IncidentTemplate
from manage import fields
from manage.errors import Invalid
from manage.http import Call, Json
from manage.serializers import manage_template
from manage.views.components import components_by_ids, paginate


def list_templates(call: Call) -> tuple[int, Json]:
    templates = IncidentTemplate.objects.prefetch_related("components")
    return 200, paginate(call, [manage_template(t) for t in templates])


def create_template(call: Call) -> tuple[int, Json]:
    data = call.section("template", required=True)
    name = fields.text(data, "name", blank=False)
    title = fields.text(data, "title", blank=False)
    body = fields.text(data, "body", blank=False)
    for label, value in (("name", name), ("title", title), ("body", body)):
        if value is None:
            raise Invalid(f"{label} can't be blank")
    status = fields.choice(data, "update_status", [str(s) for s in UNRESOLVED_INCIDENT_STATUSES])
    for ignored in ("should_tweet", "should_send_notifications"):
        fields.boolean(data, ignored)
    components = components_by_ids(
        fields.id_list(data, "component_ids") or [], field="component_ids"
    )
    if IncidentTemplate.objects.filter(name=(name or "").strip()).exists():
        raise Invalid("name has already been taken")
    template = IncidentTemplate(
        name=(name or "").strip(),
        incident_name=(title or "").strip(),
        body=body or "",
        status=status or IncidentStatus.INVESTIGATING,
    )
    template.full_clean()
    template.save()
    template.components.set(components)
    call.added(template, "Created the template.")
    return 201, manage_template(template)
