"""Settings of the test run: the project's own, with a signing key made up for this run.

Production settings refuse to start without SECRET_KEY; a test run has no secret to keep, so
it gets a fresh random key here (in the environment, so that the processes tests start
inherit it) unless one is set already.
"""

import os
import secrets

os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))

from statuspage.settings import *  # noqa: E402, F403

# Most tests follow each update's own email; the coalescing tests turn the interval on.
NOTIFY_MIN_INTERVAL_SECONDS = 0
