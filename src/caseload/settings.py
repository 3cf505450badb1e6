"""Django settings for caseload.

Everything that differs between machines comes from the environment:

- ``CASELOAD_DATABASE_URL``: ``sqlite:///path`` or ``postgresql://user:pass@host:port/db``.
  Default: the SQLite file ``var/caseload.sqlite3`` (WAL mode) under the working directory.
- ``CASELOAD_SECRET_KEY``: required when ``CASELOAD_DEBUG`` is off.
- ``CASELOAD_DEBUG``: ``1`` for development (the default), ``0`` in production.
- ``CASELOAD_ALLOWED_HOSTS``: comma-separated host names (default ``127.0.0.1,localhost``).
"""

from __future__ import annotations

import os
from pathlib import Path

from caseload.core.dburl import database_settings

BASE_DIR = Path(__file__).resolve().parent
DEBUG = os.environ.get("CASELOAD_DEBUG", "1") == "1"
SECRET_KEY = os.environ.get("CASELOAD_SECRET_KEY") or (
    "insecure-development-key-set-CASELOAD_SECRET_KEY" if DEBUG else None
)
if not SECRET_KEY:
    raise RuntimeError("CASELOAD_SECRET_KEY must be set when CASELOAD_DEBUG=0")
ALLOWED_HOSTS = [h for h in os.environ.get("CASELOAD_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "rules.apps.AutodiscoverRulesConfig",
    "simple_history",
    "caseload.core",
    "caseload.offices",
    "caseload.countries",
    "caseload.docket",
    "caseload.workload",
    "caseload.policy",
    "caseload.training",
    "caseload.staffing",
    "caseload.ingest",
    "caseload.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "caseload.core.middleware.CaseloadErrorMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "caseload.urls"
LOGIN_URL = "/admin/login/"
WSGI_APPLICATION = "caseload.wsgi.application"

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

DATABASES = {"default": database_settings(os.environ.get("CASELOAD_DATABASE_URL"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("CASELOAD_STATIC_ROOT", "var/static"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["stderr"], "level": os.environ.get("CASELOAD_LOG_LEVEL", "WARNING")},
}
