"""Public forms: subscribe (email and optional components), sign up a webhook endpoint, and
change one's components."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.http import QueryDict

from notifications.addresses import EmailRefused, canonical_email
from notifications.endpoints import EndpointRefused, check_signup_url, private_addresses_allowed
from notifications.models import ChatService
from notifications.subscriptions import normalize_url
from statuspage.models import Component, ComponentGroup
from website.serializers import load_catalog


class ComponentChoiceForm(forms.Form):
    """A form with the component checkboxes, and a box per group that stands for all of its
    components: ticking it chooses the whole group even without JavaScript (the page's script
    ticks the group's boxes as well, and keeps it in step with them)."""

    groups = forms.ModelMultipleChoiceField(
        queryset=ComponentGroup.objects.public(),
        to_field_name="public_id",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        groups = list(cleaned.get("groups") or [])
        if groups and "components" in cleaned:
            chosen = {c.pk: c for c in cleaned["components"]}
            for component in Component.objects.public().filter(group__in=groups):
                chosen.setdefault(component.pk, component)
            cleaned["components"] = list(chosen.values())
        return cleaned

    def chosen_ids(self) -> set[str]:
        """The public ids of the components chosen, as the form will be shown again: what
        was saved when the form is valid, else what was ticked."""
        if not self.is_bound:
            return set()
        if self.is_valid():
            return {component.public_id for component in self.cleaned_data["components"]}
        assert isinstance(self.data, QueryDict)  # bound to the request's POST
        in_groups = Component.objects.public().filter(
            group__is_public=True, group__public_id__in=self.data.getlist("groups")
        )
        return set(self.data.getlist("components")) | set(
            in_groups.values_list("public_id", flat=True)
        )


def _components_field() -> forms.ModelMultipleChoiceField:
    return forms.ModelMultipleChoiceField(
        queryset=Component.objects.public(),
        to_field_name="public_id",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "invalid_choice": "One of the components you chose is no longer listed. "
            "Please choose again.",
            "invalid_pk_value": "One of the components you chose is no longer listed. "
            "Please choose again.",
        },
    )


class SubscribeForm(ComponentChoiceForm):
    email = forms.EmailField(
        max_length=254,
        error_messages={
            "required": "Enter your email address.",
            "invalid": "Enter a valid email address, like name@example.com.",
            "max_length": "This email address is too long.",
        },
    )
    components = _components_field()
    # Left empty by people, filled in by form-filling robots.
    website = forms.CharField(required=False)

    def clean_email(self) -> str:
        """The address's canonical spelling, which every later step uses, or why we refuse it."""
        try:
            return canonical_email(self.cleaned_data["email"])
        except EmailRefused as refused:
            raise forms.ValidationError(refused.message) from None

    @property
    def is_robot(self) -> bool:
        return bool(self.cleaned_data.get("website"))


class WebhookSignupForm(ComponentChoiceForm):
    url = forms.URLField(
        max_length=500,
        assume_scheme="https",
        error_messages={
            "required": "Enter the URL of your endpoint.",
            "invalid": "Enter a full URL, like https://example.com/hooks/status.",
            "max_length": "This URL is too long: 500 characters at most.",
        },
    )
    components = _components_field()
    # Left empty by people, filled in by form-filling robots.
    website = forms.CharField(required=False)

    def clean_url(self) -> str:
        """Only http(s) URLs that may be on the public internet (the worker checks the rest)."""
        url = normalize_url(self.cleaned_data["url"])
        try:
            check_signup_url(url)
        except EndpointRefused as refused:
            raise forms.ValidationError(refused.message) from None
        return url

    @property
    def is_robot(self) -> bool:
        return bool(self.cleaned_data.get("website"))


# Where each chat service's incoming webhooks live (Mattermost is self-hosted: any host). A URL
# of another host is refused, so the chat form cannot be used to post to any server at all.
CHAT_HOSTS: dict[str, tuple[str, ...]] = {
    ChatService.SLACK: ("hooks.slack.com",),
    ChatService.DISCORD: ("discord.com", "discordapp.com", "ptb.discord.com", "canary.discord.com"),
    ChatService.GOOGLE_CHAT: ("chat.googleapis.com",),
    ChatService.TEAMS: (
        ".webhook.office.com",
        ".logic.azure.com",
        ".powerplatform.com",
        ".powerautomate.com",
    ),
}
CHAT_EXAMPLES: dict[str, str] = {
    ChatService.SLACK: "https://hooks.slack.com/services/T…/B…/…",
    ChatService.TEAMS: "https://….webhook.office.com/… or a Workflows URL",
    ChatService.DISCORD: "https://discord.com/api/webhooks/…/…",
    ChatService.MATTERMOST: "https://chat.example.com/hooks/…",
    ChatService.GOOGLE_CHAT: "https://chat.googleapis.com/v1/spaces/…/messages?key=…",
}


def check_chat_url(service: str, url: str, *, public: bool) -> None:
    """Refuse a chat channel's URL with a message saying why (EndpointRefused).

    https only (plain http only where NOTIFY_WEBHOOK_ALLOW_PRIVATE_ADDRESSES allows local
    receivers, as in development and tests), on the service's own hosts; a URL entered on the
    public page must also pass the public webhooks' rules (notifications/endpoints.py).
    """
    parts = urlsplit(url)
    local = private_addresses_allowed()
    if parts.scheme != "https" and not (local and parts.scheme == "http"):
        raise EndpointRefused("Use the https:// URL the chat service gave you.")
    if public:
        check_signup_url(url)
    hosts = CHAT_HOSTS.get(service)
    host = (parts.hostname or "").rstrip(".")
    if (
        hosts
        and not local
        and not any(
            host == known or (known.startswith(".") and host.endswith(known)) for known in hosts
        )
    ):
        label = ChatService(service).label
        raise EndpointRefused(
            f"This is not a {label} webhook URL: it looks like {CHAT_EXAMPLES[service]}."
        )


class ChatSignupForm(ComponentChoiceForm):
    service = forms.ChoiceField(
        choices=ChatService.choices,
        error_messages={
            "required": "Choose your chat service.",
            "invalid_choice": "Choose your chat service.",
        },
    )
    url = forms.URLField(
        max_length=500,
        assume_scheme="https",
        error_messages={
            "required": "Enter the incoming-webhook URL of your channel.",
            "invalid": "Enter the full incoming-webhook URL the chat service gave you.",
            "max_length": "This URL is too long: 500 characters at most.",
        },
    )
    components = _components_field()
    # Left empty by people, filled in by form-filling robots.
    website = forms.CharField(required=False)

    public = True

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        service, url = cleaned.get("service"), cleaned.get("url")
        if service and url:
            url = normalize_url(url)
            try:
                check_chat_url(service, url, public=self.public)
            except EndpointRefused as refused:
                self.add_error("url", refused.message)
            else:
                cleaned["url"] = url
        return cleaned

    @property
    def is_robot(self) -> bool:
        return bool(self.cleaned_data.get("website"))


class ComponentsForm(ComponentChoiceForm):
    components = _components_field()


@dataclass(frozen=True)
class ComponentChoice:
    public_id: str
    name: str
    checked: bool


@dataclass(frozen=True)
class ChoiceGroup:
    name: str | None
    choices: list[ComponentChoice]
    public_id: str | None = None

    @property
    def all_checked(self) -> bool:
        return all(choice.checked for choice in self.choices)

    @property
    def some_checked(self) -> bool:
        return any(choice.checked for choice in self.choices)


class ChoiceGroups(list[ChoiceGroup]):
    """The checkbox lists, with how many components are chosen (none: all of them)."""

    def __init__(self, groups: Iterable[ChoiceGroup]) -> None:
        super().__init__(groups)

    @property
    def chosen(self) -> int:
        return sum(choice.checked for group in self for choice in group.choices)


def component_choices(checked: set[str]) -> ChoiceGroups:
    """The public components in display order, grouped, for the checkbox lists."""
    catalog = load_catalog()

    def choices(components: list[Component]) -> list[ComponentChoice]:
        return [ComponentChoice(c.public_id, c.name, c.public_id in checked) for c in components]

    entries: list[tuple[tuple[int, str], ChoiceGroup]] = []
    for group in catalog.groups:
        children = catalog.children(group)
        if children:
            entries.append(
                (
                    (group.position, group.name),
                    ChoiceGroup(group.name, choices(children), group.public_id),
                )
            )
    for component in catalog.components:
        if component.group_id is None:
            entries.append(
                ((component.position, component.name), ChoiceGroup(None, choices([component])))
            )
    entries.sort(key=lambda entry: entry[0])
    return ChoiceGroups(group for _, group in entries)
