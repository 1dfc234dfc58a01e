"""Django settings, built from the typed environment config in ``shopmail.config``."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url

from shopmail import config as _config

CONFIG = _config.load()
BASE_URL = CONFIG.base_url
DATA_DIR = CONFIG.data_dir
SECRET_KEY = CONFIG.secret_key
DEBUG = CONFIG.debug
# SPEC section 1: proxies whose X-Forwarded-For/-Proto are believed (shopmail.core.client_ip)
SHOPMAIL_TRUSTED_PROXIES = list(CONFIG.trusted_proxies)
ALLOWED_HOSTS = ["*"]
_https = urlsplit(BASE_URL).scheme == "https"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "shopmail.store",
    "shopmail.mail",
    "shopmail.mail.deliverability",
    "shopmail.mail.webhooks",  # webhooks out (SPEC section 8)
    "shopmail.api",
    "shopmail.panel",
    "shopmail.account",
    "shopmail.support",
    "shopmail.newsletter",
    "shopmail.cli",
    "shopmail.connectors",
    "shopmail.dropship",  # drop-shipper logins (SPEC section 7)
    "axes",
    "ninja",  # its static files: /api/docs needs no CDN
]

MIDDLEWARE = [
    "shopmail.core.proxy.ForwardedProto",  # https behind a trusted proxy (SHOPMAIL_TRUSTED_PROXIES)
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "shopmail.account.language.CustomerLanguageMiddleware",  # customer pages in their language (SPEC 7)
    "shopmail.panel.language.PanelLanguageMiddleware",  # the panel in each staff user's language
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "shopmail.api.middleware.JsonApiErrors",
    "shopmail.api.idempotency.Idempotency",  # Idempotency-Key on every API POST (SPEC section 2)
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Staff login throttling (django-axes): 5 failures lock that username *from that client IP* for 15
# minutes, so nobody elsewhere can keep the owner locked out; shopmail.panel.auth adds a per-IP
# limit across usernames (password spraying). The client IP follows SHOPMAIL_TRUSTED_PROXIES.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "shopmail.core.client_ip.axes_client_ip"
STAFF_LOGIN_FAILURES_PER_IP = 30  # failed staff sign-ins from one client IP within AXES_COOLOFF_TIME
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "shopmail.panel.auth.lockout_response"
LOGIN_URL = "/admin/login/"

ROOT_URLCONF = "shopmail.urls"
WSGI_APPLICATION = "shopmail.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

if CONFIG.uses_postgres:
    DATABASES = {"default": dj_database_url.parse(CONFIG.database_url or "", conn_max_age=60)}
    # a kept connection is checked before a request reuses it: after a PostgreSQL restart the
    # first request on each thread reconnects instead of answering 500 (issue 18)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    _path = str(DATA_DIR / "shopmail.sqlite3")
    if CONFIG.database_url:
        _path = str(dj_database_url.parse(CONFIG.database_url)["NAME"])
    DATABASES = {
        "default": {
            "ENGINE": "shopmail.sqlite",  # Django's, with writers queued in-process (sqlite/base.py)
            "NAME": str(_path),
            # WAL with synchronous=FULL: a committed ingest (and its outbox rows) survives a
            # power cut; IMMEDIATE transactions take the write lock up front, so concurrent
            # writers queue on busy_timeout instead of failing with "database is locked".
            # mmap_size: reads (the worker reading ~15 KB of stored message per e-mail) come
            # from the file mapped in memory instead of a read() call per page (prepare 0.019
            # -> 0.011 ms per message); writes still go through the WAL as before.
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 60,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
                    " PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY; PRAGMA mmap_size=1073741824;"
                ),
            },
            "TEST": {"NAME": str(DATA_DIR / "test.sqlite3")},
            # a connection per server thread, kept between requests: opening one (and running the
            # PRAGMAs above) for every API request cost 2-4 ms of server CPU per order (issue 26,
            # bench/ingest.py); PostgreSQL keeps its connections the same way (conn_max_age above)
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
# the languages of the customer pages and of the panel: a gettext catalog each in src/shopmail/locale
# (docs/translations.md)
LANGUAGES = [("en", "English"), ("nb", "Norsk bokmål"), ("de", "Deutsch")]
LOCALE_PATHS = [str(Path(__file__).resolve().parent / "locale")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = _https
CSRF_COOKIE_SECURE = _https
CSRF_TRUSTED_ORIGINS = [BASE_URL]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = 200 * 1024 * 1024

NINJA_PAGINATION_PER_PAGE = 50

# Every logger (shopmail's, Django's request and server loggers, waitress's, and anything else
# through the root) writes one JSON object a line with tokens and secrets redacted (shopmail.logs).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "shopmail.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        name: {"handlers": ["console"], "level": level, "propagate": False}
        for name, level in (
            ("shopmail", "INFO"),
            ("waitress", "INFO"),
            ("django", "WARNING"),
            ("django.server", "WARNING"),
            ("django.request", "WARNING"),
            ("axes", "WARNING"),
        )
    },
}
