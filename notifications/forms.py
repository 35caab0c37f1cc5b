"""Public forms: subscribe (email and optional components), sign up a webhook endpoint, and
change one's components."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms

from notifications.addresses import EmailRefused, canonical_email
from notifications.endpoints import EndpointRefused, check_signup_url
from notifications.subscriptions import normalize_url
from statuspage.models import Component
from website.serializers import load_catalog


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


class SubscribeForm(forms.Form):
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


class WebhookSignupForm(forms.Form):
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


class ComponentsForm(forms.Form):
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


def component_choices(checked: set[str]) -> list[ChoiceGroup]:
    """The public components in display order, grouped, for the checkbox lists."""
    catalog = load_catalog()

    def choices(components: list[Component]) -> list[ComponentChoice]:
        return [ComponentChoice(c.public_id, c.name, c.public_id in checked) for c in components]

    entries: list[tuple[tuple[int, str], ChoiceGroup]] = []
    for group in catalog.groups:
        children = catalog.children(group)
        if children:
            entries.append(
                ((group.position, group.name), ChoiceGroup(group.name, choices(children)))
            )
    for component in catalog.components:
        if component.group_id is None:
            entries.append(
                ((component.position, component.name), ChoiceGroup(None, choices([component])))
            )
    entries.sort(key=lambda entry: entry[0])
    return [group for _, group in entries]
