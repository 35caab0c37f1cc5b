"""Chat messages in each service's incoming-webhook format: one `ChatMessage` (what the email
says: the status in its colour, the update, the components, one link) becomes the JSON that
Slack, Mattermost, Discord, Microsoft Teams or Google Chat expects.

Formats, as the services document them for incoming webhooks:

- Slack: `text` (the notification's fallback) and an attachment with the status colour holding
  Block Kit `blocks` (mrkdwn sections, fields, a button, a context line).
- Mattermost: `text` and Slack-style `attachments` (color, title, title_link, text, fields,
  footer); Mattermost has no blocks.
- Discord: `content` and one of `embeds` (title, url, description, color as an integer,
  fields, footer, timestamp); `allowed_mentions` empty, so staff text cannot ping anyone.
- Microsoft Teams (Workflows webhooks): a `message` whose attachment is an Adaptive Card 1.4.
- Google Chat: `text` and `cardsV2` (a header, a text paragraph, decorated texts, a button).

Texts are cut to what every service takes; the link leads to the whole story.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.dateformat import format as format_date

from notifications.models import ChatService

Json = dict[str, Any]

# Slack's section text and Discord's field values are the tightest limits (3000 and 1024).
MAX_TEXT = 2500
MAX_TITLE = 200
MAX_COMPONENTS = 10


@dataclass(frozen=True)
class ChatLine:
    """A component the update changed: its status before and after."""

    name: str
    status: str
    colour: str
    was: str = ""

    @property
    def change(self) -> str:
        return f"{self.was} → {self.status}" if self.was else self.status


@dataclass(frozen=True)
class ChatMessage:
    page_name: str
    title: str
    status: str
    colour: str  # "#rrggbb"
    when: str  # shown as is
    timestamp: str  # ISO 8601, for the services that localize it (Discord)
    text: str  # staff Markdown, or plain text
    url: str
    link_label: str
    components: list[ChatLine] = field(default_factory=list)
    unsubscribe_url: str = ""

    @property
    def short_text(self) -> str:
        return _cut(self.text, MAX_TEXT)

    @property
    def short_title(self) -> str:
        return _cut(self.title, MAX_TITLE)

    @property
    def fallback(self) -> str:
        """One line for notifications and clients that show no cards."""
        return f"[{self.status}] {self.short_title}"


def moment_text(moment: dt.datetime) -> str:
    """A time as the emails show it: "1 Dec 2026, 12:07 UTC"."""
    return format_date(timezone.localtime(moment), "j M Y, H:i T")


def _cut(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _slack_escape(text: str) -> str:
    """Slack's mrkdwn reads &, < and > as markup (links, mentions such as <!channel>)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack(message: ChatMessage) -> Json:
    title = _slack_escape(message.short_title)
    blocks: list[Json] = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f"*<{message.url}|{title}>*\n*{_slack_escape(message.status)}* · "
                f"{_slack_escape(message.when)}",
            },
        }
    ]
    if message.short_text:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _slack_escape(message.short_text)},
            }
        )
    if message.components:
        blocks.append(
            {
                "type": "section",
                "fields": [
                    {
                        "type": "mrkdwn",
                        "text": f"*{_slack_escape(line.name)}*\n{_slack_escape(line.change)}",
                    }
                    for line in message.components[:MAX_COMPONENTS]
                ],
            }
        )
    blocks.append(
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": message.link_label},
                    "url": message.url,
                }
            ],
        }
    )
    footer = _slack_escape(message.page_name)
    if message.unsubscribe_url:
        footer += f" · <{message.unsubscribe_url}|Unsubscribe this channel>"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": footer}]})
    return {
        "text": _slack_escape(message.fallback),
        "attachments": [{"color": message.colour, "blocks": blocks}],
    }


def mattermost(message: ChatMessage) -> Json:
    footer = message.page_name
    if message.unsubscribe_url:
        footer += f" · Unsubscribe this channel: {message.unsubscribe_url}"
    attachment: Json = {
        "fallback": message.fallback,
        "color": message.colour,
        "title": message.short_title,
        "title_link": message.url,
        "text": f"**{message.status}** · {message.when}\n\n{message.short_text}".strip()
        + f"\n\n[{message.link_label}]({message.url})",
        "fields": [
            {"short": True, "title": line.name, "value": line.change}
            for line in message.components[:MAX_COMPONENTS]
        ],
        "footer": footer,
    }
    return {
        "text": f"**{message.status}**: [{message.short_title}]({message.url})",
        "attachments": [attachment],
    }


def discord(message: ChatMessage) -> Json:
    description = f"**{message.status}** · {message.when}"
    if message.short_text:
        description += f"\n\n{message.short_text}"
    description += f"\n\n[{message.link_label}]({message.url})"
    footer = message.page_name
    if message.unsubscribe_url:
        footer += f" · Unsubscribe this channel: {message.unsubscribe_url}"
    return {
        "content": _cut(message.fallback, 2000),
        "embeds": [
            {
                "title": message.short_title,
                "url": message.url,
                "description": description,
                "color": int(message.colour.lstrip("#"), 16),
                "fields": [
                    {"name": line.name, "value": line.change, "inline": True}
                    for line in message.components[:MAX_COMPONENTS]
                ],
                "footer": {"text": _cut(footer, 2048)},
                "timestamp": message.timestamp,
            }
        ],
        "allowed_mentions": {"parse": []},
    }


# Adaptive Cards name their colours; these are the page's, by meaning.
_CARD_COLOURS = {
    "#17804a": "Good",
    "#8c6200": "Warning",
    "#b54a09": "Warning",
    "#c42530": "Attention",
    "#1f66c9": "Accent",
}


def teams(message: ChatMessage) -> Json:
    body: list[Json] = [
        {
            "type": "TextBlock",
            "text": message.status,
            "weight": "Bolder",
            "color": _CARD_COLOURS.get(message.colour, "Default"),
        },
        {
            "type": "TextBlock",
            "text": message.short_title,
            "size": "Large",
            "weight": "Bolder",
            "wrap": True,
            "spacing": "None",
        },
        {
            "type": "TextBlock",
            "text": message.when,
            "isSubtle": True,
            "spacing": "None",
            "wrap": True,
        },
    ]
    if message.short_text:
        body.append({"type": "TextBlock", "text": message.short_text, "wrap": True})
    if message.components:
        body.append(
            {
                "type": "FactSet",
                "facts": [
                    {"title": line.name, "value": line.change}
                    for line in message.components[:MAX_COMPONENTS]
                ],
            }
        )
    footer = message.page_name
    if message.unsubscribe_url:
        footer += f" · [Unsubscribe this channel]({message.unsubscribe_url})"
    body.append({"type": "TextBlock", "text": footer, "isSubtle": True, "size": "Small"})
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "actions": [{"type": "Action.OpenUrl", "title": message.link_label, "url": message.url}],
    }
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def _open_link(text: str, url: str) -> Json:
    return {"text": text, "onClick": {"openLink": {"url": url}}}


def _coloured(text: str, colour: str) -> str:
    return f'<font color="{colour}">{html.escape(text)}</font>'


def google_chat(message: ChatMessage) -> Json:
    """Google Chat cards take a few HTML tags in their texts: everything else is escaped."""
    sections: list[Json] = []
    if message.short_text:
        sections.append({"widgets": [{"textParagraph": {"text": html.escape(message.short_text)}}]})
    if message.components:
        sections.append(
            {
                "header": "Changed in this update",
                "widgets": [
                    {
                        "decoratedText": {
                            "topLabel": html.escape(line.name),
                            "text": (f"{html.escape(line.was)} → " if line.was else "")
                            + _coloured(line.status, line.colour),
                        }
                    }
                    for line in message.components[:MAX_COMPONENTS]
                ],
            }
        )
    buttons: list[Json] = [
        {"text": message.link_label, "onClick": {"openLink": {"url": message.url}}}
    ]
    if message.unsubscribe_url:
        buttons.append(
            {
                "text": "Unsubscribe this space",
                "onClick": {"openLink": {"url": message.unsubscribe_url}},
            }
        )
    sections.append({"widgets": [{"buttonList": {"buttons": buttons}}]})
    return {
        "text": message.fallback,
        "cardsV2": [
            {
                "cardId": "status",
                "card": {
                    "header": {
                        "title": message.short_title,
                        "subtitle": f"{message.status} · {message.when} · {message.page_name}",
                    },
                    "sections": sections,
                },
            }
        ],
    }


FORMATS: dict[str, Callable[[ChatMessage], Json]] = {
    ChatService.SLACK: slack,
    ChatService.MATTERMOST: mattermost,
    ChatService.DISCORD: discord,
    ChatService.TEAMS: teams,
    ChatService.GOOGLE_CHAT: google_chat,
}


def chat_payload(service: str, message: ChatMessage) -> Json:
    """The JSON body to POST to an incoming webhook of `service`."""
    return FORMATS[service](message)
