"""The checker: probes endpoints and upstream pages, keeps results and rollups, acts on outages."""
