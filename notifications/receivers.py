"""Signal receivers: an outbox event committed by the incidents app is enqueued for fan-out."""

from __future__ import annotations

from typing import Any

from notifications import dispatch


def fan_out_on_event(sender: type, *, event_id: int, **kwargs: Any) -> None:
    # Sent after the commit; if the broker is down the sweeper fans the event out later.
    dispatch.publish("fan_out_event", event_id)
