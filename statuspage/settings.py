"""Settings for the status page: every deployment knob is an environment variable (see README)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from statuspage.env import env_bool, env_int, env_list, env_str, parse_cache_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
# The key signs sessions and the subscribers' confirm, manage and unsubscribe links: a key
# anyone can read would let anyone forge them, so only debug mode falls back to one.
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable to a long random "
            "value kept secret (python3 -c 'import secrets; print(secrets.token_urlsafe(50))'), "
            "or DEBUG=true on a development machine."
        )
    SECRET_KEY = "insecure-development-key-for-DEBUG-only"
# Earlier keys still accepted for signatures made before a rotation (comma-separated).
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", [])

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [SITE_URL])

# The public page's identity (the API's `page` object).
STATUSPAGE_NAME = env_str("STATUSPAGE_NAME", "Example Status")
STATUSPAGE_ID = env_str("STATUSPAGE_ID", hashlib.sha256(SITE_URL.encode()).hexdigest()[:12])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "statuspage",
    "incidents",
    "notifications",
    "checker",
    "website",
    "manage",
    "health",
]

MIDDLEWARE = [
    "website.caching.PublicCacheMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "statuspage.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "statuspage.timezones.AdminTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "statuspage.unavailable.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "statuspage.urls"
WSGI_APPLICATION = "statuspage.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "website.context_processors.page",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0, maximum=86400),
    )
}
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # A database that stops answering fails a connection in seconds, not minutes.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 3)
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Concurrent web + worker processes on SQLite need WAL and a busy timeout.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # IMMEDIATE: a transaction takes the write lock when it begins, so one that reads and then
    # writes waits its turn instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL;",
            "transaction_mode": "IMMEDIATE",
        }
    )
    DATABASES["default"]["TEST"] = (
        {"NAME": env_str("TEST_SQLITE_NAME", "")} if env_str("TEST_SQLITE_NAME", "") else {}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The default cache lives in files so that the web, worker and checker processes share it.
CACHES = {"default": parse_cache_url(env_str("CACHE_URL", f"file://{VAR_DIR / 'cache'}"))}
# Seconds a browser, CDN or proxy may keep a public page, API answer or feed.
PUBLIC_CACHE_MAX_AGE = env_int("PUBLIC_CACHE_MAX_AGE", 15, minimum=0, maximum=3600)
# Seconds between the home page's checks for news (htmx polling; 0 turns it off).
LIVE_UPDATE_SECONDS = env_int("LIVE_UPDATE_SECONDS", 30, minimum=0, maximum=3600)

# The published site (website/publishing.py): every public answer rendered once per change into
# PUBLISH_ROOT, which the web processes (and nginx, if used) serve. PUBLISH_MODE "thread"
# publishes from a background thread of each web and worker process, "inline" inside the
# process that made the change (tests), "off" never (pages then render on request).
PUBLISH_ROOT = Path(env_str("PUBLISH_ROOT", str(VAR_DIR / "public")))
PUBLISH_MODE = env_str("PUBLISH_MODE", "thread")
if PUBLISH_MODE not in ("thread", "inline", "off"):
    raise ImproperlyConfigured("PUBLISH_MODE must be one of thread, inline, off")
# Republish at least this often even when nothing changed (time moves the uptime bars).
PUBLISH_INTERVAL_SECONDS = env_int("PUBLISH_INTERVAL_SECONDS", 60, minimum=5, maximum=3600)
# How often a web process's publisher looks whether the publication is behind (a worker's
# looks every second), and how long it leaves a change to a worker before publishing itself.
PUBLISH_CHECK_SECONDS = env_int("PUBLISH_CHECK_SECONDS", 5, minimum=1, maximum=600)
PUBLISH_FALLBACK_SECONDS = env_int("PUBLISH_FALLBACK_SECONDS", 15, minimum=0, maximum=3600)
# Publications kept on disk for readers that still hold an older one.
PUBLISH_KEEP = env_int("PUBLISH_KEEP", 3, minimum=2, maximum=100)
PUBLISH_BROTLI_QUALITY = env_int("PUBLISH_BROTLI_QUALITY", 6, minimum=0, maximum=11)
# Milliseconds a web process keeps serving a publication before looking for a newer one.
PUBLISH_RELOAD_MS = env_int("PUBLISH_RELOAD_MS", 250, minimum=0, maximum=60_000)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
try:
    ZoneInfo(TIME_ZONE)
except (ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(f"TIME_ZONE {TIME_ZONE!r} is not an IANA time zone") from None
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", False)
# Files staff upload (the page's logos); the public site serves them under /branding/.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))

# Security headers for production; harmless behind a TLS-terminating proxy.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = SITE_URL.startswith("https://")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Redirect plain HTTP to HTTPS. The publisher renders pages at SITE_URL, so with an http://
# SITE_URL every published page would be that redirect.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
if SECURE_SSL_REDIRECT and not SITE_URL.startswith("https://"):
    raise ImproperlyConfigured("SECURE_SSL_REDIRECT needs a SITE_URL that starts with https://")
# Monitors on the inner network reach the processes directly, over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^health(/live)?$", r"^metrics$"]
# Seconds browsers must use HTTPS only (Strict-Transport-Security; 0 sends no header).
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0, minimum=0, maximum=2 * 365 * 86400)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Content-Security-Policy of HTML answers (statuspage/csp.py; deploy/nginx/statuspage.conf
# repeats the public one for the files it serves). Scripts, styles and connections are ours
# only and nothing runs inline; images may also come over HTTPS, as staff text can show them.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# The admin's widgets and the email preview set inline styles.
CONTENT_SECURITY_POLICY_ADMIN = CONTENT_SECURITY_POLICY.replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)

# Email.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30, minimum=1, maximum=600)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "status@localhost")

# Celery: Redis or RabbitMQ in production; by default the embedded broker of
# statuspage/broker.py, messages kept as files under VAR_DIR/broker, so the quick start needs no
# server (its folders are made by the first process that sends or takes a task).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "folder": str(VAR_DIR / "broker"),
        # Seconds an idle worker waits before it looks in the queues again.
        "polling_interval": 0.5,
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"

# Logs: one line per event on stderr (statuspage/logs.py), key=value by default or JSON.
LOG_FORMAT = env_str("LOG_FORMAT", "keyvalue")
if LOG_FORMAT not in ("keyvalue", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be keyvalue or json, got {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "keyvalue": {"()": "statuspage.logs.KeyValueFormatter"},
        "json": {"()": "statuspage.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # statuspage/celery.py logs each task's outcome (task.succeeded, task.failed with its
    # traceback, checker.tick) in place of Celery's own lines.
    "loggers": {"celery.app.trace": {"level": "CRITICAL"}},
}
# Workers log through LOGGING too, instead of Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

CELERY_BEAT_SCHEDULE = {
    "advance-maintenances": {"task": "incidents.advance_maintenances", "schedule": 60.0},
}

# Notifications (subscribers, email and webhook deliveries; see README).

# Minutes before a scheduled maintenance starts that subscribers get a reminder.
NOTIFY_REMINDER_LEAD_MINUTES = env_int(
    "NOTIFY_REMINDER_LEAD_MINUTES", 60, minimum=1, maximum=7 * 24 * 60
)
# Hours a subscription's confirmation link stays valid.
NOTIFY_CONFIRM_MAX_AGE_HOURS = env_int(
    "NOTIFY_CONFIRM_MAX_AGE_HOURS", 48, minimum=1, maximum=30 * 24
)
# Subscribe requests allowed per hour from one client address, and for one email address.
NOTIFY_SUBSCRIBE_LIMIT_PER_IP = env_int(
    "NOTIFY_SUBSCRIBE_LIMIT_PER_IP", 20, minimum=1, maximum=100_000
)
NOTIFY_SUBSCRIBE_LIMIT_PER_EMAIL = env_int(
    "NOTIFY_SUBSCRIBE_LIMIT_PER_EMAIL", 3, minimum=1, maximum=1000
)
# Proxies in front of the site that append to X-Forwarded-For (0: use the peer's address).
NOTIFY_TRUSTED_PROXY_HOPS = env_int("NOTIFY_TRUSTED_PROXY_HOPS", 0, minimum=0, maximum=16)

# The Manage API (/api/v1/): requests each key may make per window (seconds), counted in the
# database so that every web process shares the count. Statuspage allows one a second.
MANAGE_API_RATE_LIMIT = env_int("MANAGE_API_RATE_LIMIT", 60, minimum=1, maximum=100_000)
MANAGE_API_RATE_WINDOW = env_int("MANAGE_API_RATE_WINDOW", 60, minimum=1, maximum=3600)
# Seconds a webhook receiver has to answer 2xx.
NOTIFY_WEBHOOK_TIMEOUT = env_int("NOTIFY_WEBHOOK_TIMEOUT", 30, minimum=1, maximum=300)
# Let webhooks signed up on the public page point at loopback, private or other non-public
# addresses (for tests and closed networks; never on a page open to the internet).
NOTIFY_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env_bool("NOTIFY_WEBHOOK_ALLOW_PRIVATE_ADDRESSES", False)
# Attempts per delivery, and the first retry's delay (doubling each time, at most the maximum).
NOTIFY_MAX_ATTEMPTS = env_int("NOTIFY_MAX_ATTEMPTS", 6, minimum=1, maximum=100)
NOTIFY_RETRY_BASE_SECONDS = env_int("NOTIFY_RETRY_BASE_SECONDS", 60, minimum=1, maximum=86400)
NOTIFY_RETRY_MAX_SECONDS = env_int(
    "NOTIFY_RETRY_MAX_SECONDS", 3600, minimum=NOTIFY_RETRY_BASE_SECONDS, maximum=7 * 86400
)
# A subscriber whose deliveries failed for good this many times in a row is disabled.
NOTIFY_DISABLE_AFTER_FAILURES = env_int("NOTIFY_DISABLE_AFTER_FAILURES", 5, minimum=1, maximum=1000)
# Deliveries one worker task claims and sends over one connection.
NOTIFY_EMAIL_BATCH_SIZE = env_int("NOTIFY_EMAIL_BATCH_SIZE", 200, minimum=1, maximum=10_000)
NOTIFY_WEBHOOK_BATCH_SIZE = env_int("NOTIFY_WEBHOOK_BATCH_SIZE", 5, minimum=1, maximum=1000)
# Where workers note each accepted message before the batch is written to the database (see
# notifications/journal.py): the broker's Redis when there is one, else a folder under VAR_DIR.
NOTIFY_JOURNAL_URL = env_str(
    "NOTIFY_JOURNAL_URL",
    CELERY_BROKER_URL
    if CELERY_BROKER_URL.startswith(("redis://", "rediss://"))
    else f"file://{VAR_DIR / 'journal'}",
)
if not NOTIFY_JOURNAL_URL.startswith(("redis://", "rediss://", "file:///")):
    raise ImproperlyConfigured(
        f"NOTIFY_JOURNAL_URL must be redis://host:port/db or file:///absolute/path, "
        f"got {NOTIFY_JOURNAL_URL!r}"
    )
# Seconds a worker's claim on a batch lasts unless renewed: the worker renews it every third of
# that while the batch runs, and the sweeper takes back (and retries) a claim whose lease ran out.
NOTIFY_CLAIM_LEASE_SECONDS = env_int("NOTIFY_CLAIM_LEASE_SECONDS", 45, minimum=3, maximum=3600)
# Seconds an email subscriber waits at least between two messages about one incident: updates
# posted meanwhile are held and sent as one message (0: every update at once).
NOTIFY_MIN_INTERVAL_SECONDS = env_int("NOTIFY_MIN_INTERVAL_SECONDS", 300, minimum=0, maximum=86400)
# How often the sweeper runs, and how old work must be before it is swept up.
NOTIFY_SWEEP_SECONDS = env_int("NOTIFY_SWEEP_SECONDS", 60, minimum=1, maximum=3600)
NOTIFY_SWEEP_GRACE_SECONDS = env_int("NOTIFY_SWEEP_GRACE_SECONDS", 30, minimum=0, maximum=3600)
# Days the record of a finished delivery is kept for staff to look at.
NOTIFY_DELIVERY_RETENTION_DAYS = env_int(
    "NOTIFY_DELIVERY_RETENTION_DAYS", 90, minimum=1, maximum=3650
)
# Subscription abuse guards. Sign-ups allowed per hour for one recipient domain (email) or
# host (webhook), a last fuse when many addresses or clients are used at once; and how often
# unconfirmed subscribers past their confirmation window, and ended rate-limit windows, go.
NOTIFY_SUBSCRIBE_LIMIT_PER_DOMAIN = env_int(
    "NOTIFY_SUBSCRIBE_LIMIT_PER_DOMAIN", 200, minimum=1, maximum=1_000_000
)
NOTIFY_PRUNE_SUBSCRIPTIONS_SECONDS = env_int(
    "NOTIFY_PRUNE_SUBSCRIPTIONS_SECONDS", 3600, minimum=60, maximum=7 * 86400
)

CELERY_TASK_QUEUES = [Queue("celery"), Queue("notifications")]
CELERY_TASK_ROUTES = {"notifications.*": {"queue": "notifications"}}
CELERY_BEAT_SCHEDULE |= {
    # A run left waiting over a minute (workers down) is dropped: the next one does its work.
    "notifications-sweep": {
        "task": "notifications.sweep",
        "schedule": float(NOTIFY_SWEEP_SECONDS),
        "options": {"expires": max(NOTIFY_SWEEP_SECONDS, 60)},
    },
    "notifications-maintenance-reminders": {
        "task": "notifications.record_maintenance_reminders",
        "schedule": 60.0,
        "options": {"expires": 60},
    },
    "notifications-prune-deliveries": {
        "task": "notifications.prune_deliveries",
        "schedule": 3600.0,
    },
}
# Webhook challenges go to endpoints nobody has vouched for yet: a queue of their own, so slow
# ones cannot hold up the workers that send notifications.
CELERY_TASK_QUEUES = [*CELERY_TASK_QUEUES, Queue("challenges")]
CELERY_TASK_ROUTES = {
    "notifications.send_webhook_challenge": {"queue": "challenges"},
    **CELERY_TASK_ROUTES,
}
CELERY_BEAT_SCHEDULE |= {
    "notifications-prune-subscriptions": {
        "task": "notifications.prune_subscriptions",
        "schedule": float(NOTIFY_PRUNE_SUBSCRIPTIONS_SECONDS),
        "options": {"expires": NOTIFY_PRUNE_SUBSCRIPTIONS_SECONDS},
    },
}

# Checker ---------------------------------------------------------------------------------------
# Raw probe results are kept this many days; hourly and daily rollups for ever.
CHECKER_RESULT_RETENTION_DAYS = env_int("CHECKER_RESULT_RETENTION_DAYS", 7, minimum=1, maximum=366)
# Probes one worker runs at once, and at once against one host (be a polite client).
CHECKER_MAX_CONCURRENCY = env_int("CHECKER_MAX_CONCURRENCY", 200, minimum=1, maximum=10_000)
CHECKER_MAX_PER_HOST = env_int("CHECKER_MAX_PER_HOST", 4, minimum=1, maximum=1000)
# Seconds between beat ticks; each tick claims the checks due before the next one.
CHECKER_TICK_SECONDS = env_int("CHECKER_TICK_SECONDS", 10, minimum=1, maximum=300)
# Flap damping: a confirmed failure must have lasted this long (from its first failed probe)
# before the checker opens an incident or sets a status; a check at the default interval and
# failure threshold has failed for longer than that when it confirms, so it is not delayed.
CHECKER_MIN_OUTAGE_SECONDS = env_int("CHECKER_MIN_OUTAGE_SECONDS", 60, minimum=0, maximum=3600)
# An incident the checker resolved that fails again within this many seconds is reopened (an
# update to the same incident) instead of a new incident being opened.
CHECKER_REOPEN_SECONDS = env_int("CHECKER_REOPEN_SECONDS", 900, minimum=0, maximum=86400)

CELERY_TASK_QUEUES = [*CELERY_TASK_QUEUES, Queue("checks")]
CELERY_TASK_ROUTES = {**CELERY_TASK_ROUTES, "checker.*": {"queue": "checks"}}
CELERY_BEAT_SCHEDULE |= {
    "checker-run-due-checks": {
        "task": "checker.run_due_checks",
        "schedule": float(CHECKER_TICK_SECONDS),
        # A tick waits its turn behind the tasks a worker has taken (a notification storm's
        # batches take tens of seconds each); dropped after one tick's wait, every tick expired
        # and no check ran for minutes. A tick that waited claims what is due when it runs; one
        # that waited longer than this (no worker) is dropped, so a stop leaves few behind.
        "options": {"expires": max(300, 3 * CHECKER_TICK_SECONDS)},
    },
    # checker/views.py redraws the charts' standby copies as often (HOUR_UNDER_WAY_...).
    "checker-roll-up-results": {"task": "checker.roll_up_results", "schedule": 600.0},
    "checker-prune-results": {"task": "checker.prune_results", "schedule": 3600.0},
}

# The work that keeps everything else moving (the sweeper that recovers lost notifications,
# maintenance reminders and automation) has a queue of its own, like the checker's ticks: a
# backlog of notifications never delays it, nor lets it expire while it waits. bin/start runs a
# worker for these two queues besides the one that consumes every queue.
CONTROL_TASKS = (
    "incidents.advance_maintenances",
    "notifications.sweep",
    "notifications.record_maintenance_reminders",
)
CELERY_TASK_QUEUES = [*CELERY_TASK_QUEUES, Queue("control")]
CELERY_TASK_ROUTES = {
    **{name: {"queue": "control"} for name in CONTROL_TASKS},
    **CELERY_TASK_ROUTES,
}

# Health and metrics (see README) ---------------------------------------------------------------
# Seconds between the heartbeat tasks beat sends to each queue.
HEALTH_HEARTBEAT_SECONDS = env_int("HEALTH_HEARTBEAT_SECONDS", 30, minimum=1, maximum=3600)
# Seconds after which a worker's or the checker's heartbeat is stale: /health says "degraded".
# Longer than the beats it watches, or it would always be stale.
HEALTH_STALE_SECONDS = env_int(
    "HEALTH_STALE_SECONDS",
    180,
    minimum=max(HEALTH_HEARTBEAT_SECONDS, CHECKER_TICK_SECONDS) + 1,
    maximum=7 * 86400,
)
# Milliseconds /health waits for the database, the cache and the broker before calling one down.
HEALTH_TIMEOUT_MS = env_int("HEALTH_TIMEOUT_MS", 1000, minimum=100, maximum=30_000)
# /metrics answers scrapers that send "Authorization: Bearer <METRICS_TOKEN>"; without a token it
# is off (404) unless METRICS_PUBLIC is true.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
METRICS_PUBLIC = env_bool("METRICS_PUBLIC", False)
if METRICS_TOKEN and len(METRICS_TOKEN) < 16:
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 16 characters long")

CELERY_BEAT_SCHEDULE |= {
    # One per queue, so each queue shows it has a worker; a beat that waited in its queue longer
    # than a heartbeat may be old is dropped.
    f"health-worker-heartbeat-{queue.name}": {
        "task": "health.record_worker_heartbeat",
        "schedule": float(HEALTH_HEARTBEAT_SECONDS),
        "args": (queue.name,),
        "options": {"queue": queue.name, "expires": HEALTH_STALE_SECONDS},
    }
    for queue in CELERY_TASK_QUEUES
}

# Staff login -----------------------------------------------------------------------------------
# Where the admin is served, relative to the site's root ("staff/" serves it at /staff/).
ADMIN_PATH = env_str("ADMIN_PATH", "admin/")
if not re.fullmatch(r"([A-Za-z0-9_~-][A-Za-z0-9._~-]*/)+", ADMIN_PATH):
    raise ImproperlyConfigured(
        f"ADMIN_PATH must be one or more path segments each ending with /, like admin/ or "
        f"ops/admin/, got {ADMIN_PATH!r}"
    )
# django-axes counts failed logins and refuses further tries, even with the right password,
# from an address that failed LOGIN_FAILURE_LIMIT times (whatever the usernames) and for an
# account from an address that failed it as often, until LOGIN_COOLOFF_MINUTES have passed.
# An account alone is never locked: anyone could otherwise lock staff out by guessing.
INSTALLED_APPS = [*INSTALLED_APPS, "axes"]
# Last, as axes asks: it turns the lockout its backend raises into the refusal page.
MIDDLEWARE = [*MIDDLEWARE, "axes.middleware.AxesMiddleware"]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1, maximum=100)
AXES_COOLOFF_TIME = dt.timedelta(
    minutes=env_int("LOGIN_COOLOFF_MINUTES", 15, minimum=1, maximum=7 * 24 * 60)
)
AXES_LOCKOUT_PARAMETERS = ["ip_address", ["username", "ip_address"]]
# The client's address as the subscription limits read it (NOTIFY_TRUSTED_PROXY_HOPS).
AXES_CLIENT_IP_CALLABLE = "notifications.ratelimit.client_address"
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"
