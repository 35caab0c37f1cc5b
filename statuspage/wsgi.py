"""WSGI entry point for gunicorn and other servers: Django behind the published site's fast path.

The one module of the project package that imports an app: it assembles the served application.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "statuspage.settings")
django_application = get_wsgi_application()

from website.fastpath import PublishedSite  # noqa: E402 - needs the settings configured above

application = PublishedSite(django_application)
