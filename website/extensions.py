"""What other apps add to the public pages without this app importing them: they register a
source here when they start (their AppConfig.ready), and the selectors ask every source."""

from __future__ import annotations

from collections.abc import Callable, Iterable

# Given component ids, the ones that have response times to chart on their page.
ResponseTimeSource = Callable[[list[int]], Iterable[int]]
_response_time_sources: list[ResponseTimeSource] = []


def register_response_time_source(source: ResponseTimeSource) -> None:
    if source not in _response_time_sources:
        _response_time_sources.append(source)


def components_with_response_times(component_ids: Iterable[int]) -> set[int]:
    ids = list(component_ids)
    found: set[int] = set()
    for source in _response_time_sources:
        found.update(source(ids))
    return found
