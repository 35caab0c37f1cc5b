"""The Manage API v1 handlers, one module per resource."""
