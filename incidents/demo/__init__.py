"""Demo data: a believable status page with 90 days of history, and a large one for benchmarks."""

from incidents.demo.large import build_large
from incidents.demo.standard import build_demo
from incidents.demo.story import has_data, wipe

__all__ = ["build_demo", "build_large", "has_data", "wipe"]
