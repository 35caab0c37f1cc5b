"""Shared pytest setup: each test gets its own empty cache, and the public cache middleware
only where a test asks for it with @pytest.mark.public_cache (inside a test's transaction the
version never moves, so other tests pin the views' own answers)."""

import itertools

import pytest

_caches = itertools.count()


@pytest.fixture(autouse=True)
def _isolated_cache(settings, request):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"test-{next(_caches)}",
        }
    }
    # No collectstatic in tests: plain static storage, served from the app folders.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    if request.node.get_closest_marker("public_cache") is None:
        settings.MIDDLEWARE = [
            m for m in settings.MIDDLEWARE if not m.endswith(".PublicCacheMiddleware")
        ]
