"""Subscribers, the fan-out of outbox events into deliveries, and sending them through the email
and webhook channels."""
