"""Incidents, their updates and postmortems, scheduled maintenance and incident templates."""
