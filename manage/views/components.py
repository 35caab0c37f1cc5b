"""Components and component groups: list, read, create, change, delete.

A status change goes through `component_change_status` (history, uptime, the component's
subscribers told); the other fields are saved as the admin saves them, validated by the model.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from incidents.services import component_change_status
from manage import fields
from manage.errors import Invalid, NotFound
from manage.http import Call, Json
from manage.serializers import (
    all_components,
    catalog,
    manage_component,
    manage_components,
    manage_group,
)
from statuspage.models import COMPONENT_STATUS_VALUES, Component, ComponentGroup

PER_PAGE_MAX = 100


def paginate(call: Call, items: list[Any], *, default: int = 100) -> list[Any]:
    page = fields.query_int(call.request.GET.get("page"), "page", default=1, maximum=10**6)
    per_page = fields.query_int(
        call.request.GET.get("per_page"), "per_page", default=default, maximum=PER_PAGE_MAX
    )
    start = (page - 1) * per_page
    return items[start : start + per_page]


def find_component(public_id: str) -> Component:
    component = all_components().filter(public_id=public_id).first()
    if component is None:
        raise NotFound()
    return component


def find_group(public_id: str) -> ComponentGroup:
    group = ComponentGroup.objects.filter(public_id=public_id).first()
    if group is None:
        raise NotFound()
    return group


def components_by_ids(ids: list[str], *, field: str) -> list[Component]:
    """The components named by `ids`, in that order; an unknown id is refused (422)."""
    found = {c.public_id: c for c in all_components().filter(public_id__in=ids)}
    unknown = [i for i in ids if i not in found]
    if unknown:
        raise Invalid(f"{field} names no component: {', '.join(unknown)}")
    return [found[i] for i in dict.fromkeys(ids)]


def _group_from(data: dict[str, Any]) -> ComponentGroup | None | bool:
    """The group a body names: a group, None to ungroup, False when not given."""
    if "group_id" not in data:
        return False
    group_id = data["group_id"]
    if group_id in (None, ""):
        return None
    if not isinstance(group_id, str):
        raise Invalid("group_id must be a string")
    group = ComponentGroup.objects.filter(public_id=group_id).first()
    if group is None:
        raise Invalid(f"group_id names no component group: {group_id}")
    return group


def _apply_fields(component: Component, data: dict[str, Any]) -> list[str]:
    changed = []
    for name in ("name", "description"):
        value = fields.text(data, name, blank=name != "name")
        if value is not None:
            setattr(component, name, value.strip() if name == "name" else value)
            changed.append(name)
    for name in ("showcase", "only_show_if_degraded"):
        flag = fields.boolean(data, name)
        if flag is not None:
            setattr(component, name, flag)
            changed.append(name)
    position = fields.integer(data, "position")
    if position is not None:
        component.position = position
        changed.append("position")
    if "start_date" in data:
        start = fields.timestamp(data, "start_date")
        component.start_date = start.date() if start else None
        changed.append("start_date")
    group = _group_from(data)
    if group is not False:
        component.group = group  # type: ignore[assignment]  # False is handled above
        changed.append("group")
    hidden = fields.boolean(data, "hidden")
    if hidden is not None:
        component.is_public = not hidden
        changed.append("is_public")
    return changed


def _set_status(call: Call, component: Component, data: dict[str, Any]) -> str | None:
    status = fields.choice(data, "status", COMPONENT_STATUS_VALUES)
    if status is None:
        return None
    change = component_change_status(
        component=component,
        status=status,
        note=f"Through the API by {call.user}",
        deliver_notifications=fields.boolean(data, "deliver_notifications") is not False,
    )
    return status if change is not None else None


def list_components(call: Call) -> tuple[int, Json]:
    return 200, paginate(call, manage_components(catalog()))


def create_component(call: Call) -> tuple[int, Json]:
    data = call.section("component", required=True)
    if fields.text(data, "name", blank=False) is None:
        raise Invalid("name can't be blank")
    status = fields.choice(data, "status", COMPONENT_STATUS_VALUES)
    component = Component()
    _apply_fields(component, data)
    component.full_clean()
    component.save()
    call.added(component, "Created the component.")
    if _set_status(call, component, data):
        call.record(component, f"Set the status to {status}.")
    return 201, manage_component(find_component(component.public_id))


def get_component(call: Call) -> tuple[int, Json]:
    return 200, manage_component(find_component(call.kwargs["component_id"]))


def update_component(call: Call) -> tuple[int, Json]:
    component = find_component(call.kwargs["component_id"])
    data = call.section("component", required=True)
    changed = _apply_fields(component, data)
    if changed:
        component.full_clean()
        component.save()
        call.record(component, f"Changed {', '.join(changed)}.")
    status = _set_status(call, component, data)
    if status:
        call.record(component, f"Set the status to {status}.")
    return 200, manage_component(find_component(component.public_id))


def delete_component(call: Call) -> tuple[int, Json]:
    component = find_component(call.kwargs["component_id"])
    answer = manage_component(component)
    call.deleted(component, "Deleted the component.")
    component.delete()
    return 200, answer


# Groups


def _group_answer(group: ComponentGroup) -> Json:
    return manage_group(group, Component.objects.filter(group=group))


def list_groups(call: Call) -> tuple[int, Json]:
    everything = catalog()
    return 200, paginate(call, [manage_group(g, everything.children(g)) for g in everything.groups])


def _group_fields(call: Call) -> tuple[dict[str, Any], str | None]:
    data = call.section("component_group", required=True)
    # Statuspage documents the description beside the group object; accept it in either place.
    description = fields.text(data, "description")
    if description is None:
        description = fields.text(call.body, "description")
    return data, description


def _set_members(group: ComponentGroup, ids: list[str]) -> None:
    members = components_by_ids(ids, field="components")
    for component in Component.objects.filter(group=group).exclude(pk__in=[c.pk for c in members]):
        component.group = None
        component.save()
    for component in members:
        if component.group_id != group.pk:
            component.group = group
            component.save()


def create_group(call: Call) -> tuple[int, Json]:
    data, description = _group_fields(call)
    name = fields.text(data, "name", blank=False)
    if name is None:
        raise Invalid("name can't be blank")
    ids = fields.id_list(data, "components")
    if not ids:
        raise Invalid("components can't be blank")
    group = ComponentGroup(name=name.strip(), description=description or "")
    position = fields.integer(data, "position")
    if position is not None:
        group.position = position
    group.full_clean()
    group.save()
    _set_members(group, ids)
    call.added(group, "Created the component group.")
    return 201, _group_answer(group)


def get_group(call: Call) -> tuple[int, Json]:
    return 200, _group_answer(find_group(call.kwargs["group_id"]))


def update_group(call: Call) -> tuple[int, Json]:
    group = find_group(call.kwargs["group_id"])
    data, description = _group_fields(call)
    name = fields.text(data, "name", blank=False)
    if name is not None:
        group.name = name.strip()
    if description is not None:
        group.description = description
    position = fields.integer(data, "position")
    if position is not None:
        group.position = position
    group.full_clean()
    group.save()
    ids = fields.id_list(data, "components")
    if ids is not None:
        _set_members(group, ids)
    call.record(group, "Changed the component group.")
    return 200, _group_answer(group)


def delete_group(call: Call) -> tuple[int, Json]:
    group = find_group(call.kwargs["group_id"])
    answer = _group_answer(group)
    # Its components stay, ungrouped, as Statuspage does.
    for component in Component.objects.filter(Q(group=group)):
        component.group = None
        component.save()
    call.deleted(group, "Deleted the component group.")
    group.delete()
    return 200, answer
