"""Subscribers, the notification outbox's fan-out, deliveries, and the email and webhook transports."""
