"""WSGI entry point for granian (bin/start), gunicorn or any WSGI server: Django behind the
published site's fast path.

The one module of the project package that imports an app: it assembles the served application.

Once assembled (the URL configuration, and with it every view module, loaded too), what the
process holds is set aside from the garbage collector (gc.freeze): a full collection would
otherwise walk those hundred thousand objects, stopping every thread of the process for tens
of milliseconds, the slowest answers of a busy page. They are freed as usual if ever dropped.
"""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "statuspage.settings")
django_application = get_wsgi_application()

from website.fastpath import PublishedSite  # noqa: E402 - needs the settings configured above

application = PublishedSite(django_application)

get_resolver().url_patterns  # noqa: B018 - imports the views before the freeze
gc.collect()
gc.freeze()
