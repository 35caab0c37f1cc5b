"""The Manage API v1: Statuspage's write API, with the keys staff give to their tools."""
