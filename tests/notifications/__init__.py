"""Test helpers for notifications: an SMTP sink, a webhook receiver and a Celery worker process."""
