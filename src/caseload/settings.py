"""Django settings for caseload.

Everything that differs between machines comes from the environment:

- ``CASELOAD_DATABASE_URL``: ``sqlite:///path`` or ``postgresql://user:pass@host:port/db``.
  Default: the SQLite file ``var/caseload.sqlite3`` (WAL mode) under the working directory.
- ``CASELOAD_SECRET_KEY``: required when ``CASELOAD_DEBUG`` is off.
- ``CASELOAD_DEBUG``: ``0`` (the default) in production, ``1`` for development (``make demo``).
- ``CASELOAD_SSL_REDIRECT``: redirect plain HTTP to HTTPS (default ``1`` when ``CASELOAD_DEBUG=0``).
- ``CASELOAD_BEHIND_TLS_PROXY``: ``1`` when a reverse proxy terminates TLS and sets
  ``X-Forwarded-Proto`` (trusted to say the request was HTTPS).
- ``CASELOAD_HSTS_SECONDS``: Strict-Transport-Security max-age when ``CASELOAD_DEBUG=0`` (one year).
- ``CASELOAD_ALLOWED_HOSTS``: comma-separated host names (default ``127.0.0.1,localhost``).
- ``CASELOAD_AUDIT_KEY``: the key of the audit log's HMAC chain; required when ``CASELOAD_DEBUG=0``.
- ``CASELOAD_SESSION_IDLE_MINUTES``: a signed-in session ends after this many idle minutes (30).
- ``CASELOAD_MFA_ROLES``: roles that must sign in with a TOTP code (default
  ``administrator,auditor`` when ``CASELOAD_DEBUG=0``, none otherwise; ``none`` for none).
- ``CASELOAD_LOGIN_FAILURE_LIMIT`` / ``CASELOAD_LOGIN_LOCKOUT_MINUTES``: failed sign-ins for one
  user name from one address before it is locked (5), and for how long (15).
- ``CASELOAD_API_RATE_LIMIT``: API requests allowed per token (per user for a browser session)
  in each window, as ``N/s``, ``N/m``, ``N/h`` or ``N/d`` (``600/m``); beyond it the API answers 429.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from caseload.core.dburl import database_settings

BASE_DIR = Path(__file__).resolve().parent
DEBUG = os.environ.get("CASELOAD_DEBUG", "0") == "1"


def _required_secret(name: str, development_value: str) -> str:
    value = os.environ.get(name)
    if value:
        return value
    if DEBUG:
        return development_value
    raise ImproperlyConfigured(f"{name} must be set when CASELOAD_DEBUG=0 (production); "
                               f"set CASELOAD_DEBUG=1 for development")


SECRET_KEY = _required_secret("CASELOAD_SECRET_KEY", "insecure-development-key-set-CASELOAD_SECRET_KEY")
AUDIT_KEY = _required_secret("CASELOAD_AUDIT_KEY", "insecure-development-audit-key-set-CASELOAD_AUDIT_KEY")
ALLOWED_HOSTS = [h for h in os.environ.get("CASELOAD_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "csp",
    "ninja",  # the API's interactive docs are served from its own static files (no CDN)
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
    "caseload.forecast",
    "caseload.planning",
    "caseload.reports",
    "caseload.web",
]

MIDDLEWARE = [
    "caseload.core.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "caseload.core.middleware.RequireMFAMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "caseload.core.middleware.CaseloadErrorMiddleware",
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "caseload.urls"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# An idle session ends: the cookie's age is renewed on every request.
SESSION_IDLE_MINUTES = int(os.environ.get("CASELOAD_SESSION_IDLE_MINUTES", "30"))
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True

_mfa = os.environ.get("CASELOAD_MFA_ROLES", "" if DEBUG else "administrator,auditor")
MFA_ROLES = frozenset(r.strip() for r in _mfa.split(",") if r.strip() and r.strip() != "none")
OTP_TOTP_ISSUER = "caseload"

# Failed sign-ins (django-axes): lock one user name from one address after N failures.
AXES_FAILURE_LIMIT = int(os.environ.get("CASELOAD_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = int(os.environ.get("CASELOAD_LOGIN_LOCKOUT_MINUTES", "15")) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked.html"
AXES_VERBOSE = False

# API rate limit per token (docs/api.md); counted in Django's cache (per process with the default
# local-memory cache, so each gunicorn worker counts on its own).
API_RATE_LIMIT = os.environ.get("CASELOAD_API_RATE_LIMIT", "600/m")
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
                "caseload.web.context.navigation",
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
# whitenoise serves the static files in every mode, straight from the installed package.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Transport and cookies (Django's `check --deploy` is clean with CASELOAD_DEBUG=0).
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = os.environ.get("CASELOAD_SSL_REDIRECT", "0" if DEBUG else "1") == "1"
if os.environ.get("CASELOAD_BEHIND_TLS_PROXY") == "1":
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = 0 if DEBUG else int(os.environ.get("CASELOAD_HSTS_SECONDS", str(365 * 24 * 3600)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp): scripts and styles from this site only; no inline
# script or style in any page (the stand-alone escalation package document alone may carry its
# own <style>, see countries.views).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["stderr"], "level": os.environ.get("CASELOAD_LOG_LEVEL", "WARNING")},
    # One line per request (method, path, status, milliseconds, user) unless CASELOAD_REQUEST_LOG=0.
    "loggers": {"caseload.requests": {"handlers": ["stderr"], "propagate": False,
                                      "level": "INFO" if os.environ.get("CASELOAD_REQUEST_LOG", "1") == "1" else "WARNING"}},
}
