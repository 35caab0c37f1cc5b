"""Subscribers, the fan-out of outbox events into deliveries, and the email and webhook
transports."""
