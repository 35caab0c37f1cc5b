"""The checker: checks on endpoints and upstream status pages, their results, rollups and automation."""
