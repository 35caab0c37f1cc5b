"""Notification channels, one class per kind of subscriber (see base.Channel), and the registry
the fan-out, the sending loop and the sweeper look them up in."""

from __future__ import annotations

from notifications.channels.base import Channel
from notifications.channels.chat import ChatChannel
from notifications.channels.email import EmailChannel
from notifications.channels.webhook import WebhookChannel

CHANNELS: dict[str, type[Channel]] = {
    channel.kind: channel for channel in (EmailChannel, WebhookChannel, ChatChannel)
}


def channel_for(kind: str) -> type[Channel]:
    """The channel of subscribers (and deliveries) of `kind`."""
    return CHANNELS[kind]
