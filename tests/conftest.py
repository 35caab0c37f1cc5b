"""Shared pytest setup: each test gets its own empty cache, send journals go to a temporary
folder, and the public cache middleware runs only where a test asks for it with
@pytest.mark.public_cache (inside a test's transaction the version never moves, so other tests
pin the views' own answers)."""

import itertools

import pytest

_caches = itertools.count()


@pytest.fixture(scope="session")
def _journal_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("journal")


@pytest.fixture(autouse=True)
def _isolated_cache(settings, request, _journal_folder, tmp_path):
    # Send journals in a folder of the test run, not under the checkout's var/.
    settings.NOTIFY_JOURNAL_URL = f"file://{_journal_folder}"
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
    # Publishing is off unless a test asks for it with @pytest.mark.published; then it runs in
    # the test's own thread, into the test's own folder.
    settings.PUBLISH_ROOT = tmp_path / "published"
    settings.PUBLISH_MODE = "inline" if request.node.get_closest_marker("published") else "off"
    if request.node.get_closest_marker("public_cache") is None:
        settings.MIDDLEWARE = [
            m for m in settings.MIDDLEWARE if not m.endswith(".PublicCacheMiddleware")
        ]
