# Long because every setting the platform takes from the environment is here, each with why.
"""Counterfoil settings. Every value comes from the environment; the README lists them all."""

import secrets
from pathlib import Path

from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from counterfoil.database_url import database_settings
from counterfoil.environment import (
    REPOSITORY_ROOT,
    data_dir,
    env_bool,
    env_int,
    env_list,
    env_str,
)
from counterfoil.notify.settings import notify_template_ids
from counterfoil.sentry import init_sentry

BASE_DIR = REPOSITORY_ROOT
DATA_DIR = data_dir()

DEBUG = env_bool("DEBUG", False)


def _secret_key() -> str:
    configured = env_str("SECRET_KEY")
    if configured:
        return configured
    # A newcomer's machine gets a random key kept beside its embedded database, so sessions
    # survive a restart; production sets SECRET_KEY explicitly.
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(64))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()

# The platform's own host; councils answer on <slug>.<PLATFORM_DOMAIN> and on their own
# verified host names.
PLATFORM_DOMAIN = env_str("PLATFORM_DOMAIN", "localhost").lower()
PLATFORM_HOSTS = {PLATFORM_DOMAIN, f"www.{PLATFORM_DOMAIN}"}
# The port people reach us on, when it is not the scheme's default (the demo's 8000): links in
# emails need it.
PUBLIC_PORT = env_int("PUBLIC_PORT", 0) or None

# Council host names are data (a council may add payments.<council>.gov.uk), so the domain
# table is the allow-list: the tenant middleware answers 404 to any host it does not know,
# before any other code reads the Host header.
ALLOWED_HOSTS = ["*"]

SHARED_APPS = [
    "django_tenants",
    # Before allauth, so that our GOV.UK versions of its templates are the ones found.
    "counterfoil",
    "tenants",
    "tenants.audit",
    "console",
    "billing",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    # Staff sign-in through the council's own identity provider (tenants.identity_providers).
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    # django-ninja (the council API): listed for its Swagger UI files, served from here.
    "ninja",
]
TENANT_APPS = [
    "tenants.audit",
    "income",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Council"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
# Off on purpose, at the price of a `SET search_path` before each cursor: with it on,
# django-tenants caches the search path it last set, and a rolled-back savepoint (which undoes
# a SET in PostgreSQL) leaves that cache wrong, so the next query can read another council's
# rows (django-tenants issue 1262). A test holds this setting.
TENANT_LIMIT_SET_CALLS = False
# Host → council per process, re-read at most this often when the tenancy generation moves.
TENANT_CACHE_CHECK_SECONDS = float(env_str("TENANT_CACHE_CHECK_SECONDS", "1"))
# How long /readyz remembers that the database is at this release (it reads the migrations).
READINESS_CACHE_SECONDS = float(env_str("READINESS_CACHE_SECONDS", "10"))

AUTH_USER_MODEL = "tenants.User"

# Idempotent functions run in a new council's schema once it is built (tenants calls them
# without importing the apps above it). They must not depend on which council it is: they run
# once per release in the schema snapshot's template, and new councils get their rows from it.
COUNCIL_SEEDERS = ["income.defaults.seed_income_defaults"]

MIDDLEWARE = [
    # First, so that every response is counted, under the council its host named (and
    # /metrics, on any host, is answered before anything else runs).
    "counterfoil.metrics.RequestMetricsMiddleware",
    "tenants.middleware.CouncilHostMiddleware",
    # Passwords and account tokens only on hosts the platform controls, never a council's own.
    "tenants.sign_in_hosts.SignInOnPlatformHostsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "tenants.request_context.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # A session is used only on the host it began on (a copied cookie signs nobody in).
    "tenants.session_host.SessionHostMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "counterfoil.private_pages.PrivatePagesMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "tenants.middleware.CouncilMembershipMiddleware",
    # After the membership check: a sign-in past its absolute lifetime ends, and then a
    # member (or an operator) without a second factor reaches nothing but enrolment.
    "tenants.session_lifetime.SessionLifetimeMiddleware",
    # (A council may trust its identity provider's MFA instead: tenants.provider_mfa.)
    "tenants.provider_mfa.MfaRequiredUnlessProviderMfaMiddleware",
    # A suspended council's host refuses every change, whatever the page.
    "tenants.read_only.SuspendedCouncilMiddleware",
    # Last, so that it sees a view's error first: a council whose database node does not
    # answer gets "temporarily unavailable" (503), not a server error.
    "tenants.node_unavailable.NodeUnavailableMiddleware",
]

ROOT_URLCONF = "counterfoil.urls_council"
PUBLIC_SCHEMA_URLCONF = "counterfoil.urls_public"

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
                "counterfoil.context_processors.service",
                "billing.context_processors.overdue_notices",
            ],
        },
    },
]

FORM_RENDERER = "tenants.govuk_forms.GovukFormRenderer"

# Content-Security-Policy: scripts and styles only from our own host (GOV.UK Frontend is
# vendored), the one inline script (GOV.UK Frontend's js-enabled class) by its per-request
# nonce, no inline styles, no plugins, never framed. GOV.UK Frontend's stylesheet loads its
# fonts and images from our host; the favicon and crest are files there too.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
    },
}

WSGI_APPLICATION = "counterfoil.wsgi.application"
ASGI_APPLICATION = "counterfoil.asgi.application"

# --- database -------------------------------------------------------------------------------
_database_url = env_str("DATABASE_URL")
if not _database_url:
    raise ImproperlyConfigured(
        "DATABASE_URL is not set. Start Counterfoil through the `counterfoil` command (or "
        "manage.py), which starts the embedded PostgreSQL when DATABASE_URL is unset."
    )
DATABASES = {
    "default": database_settings(
        _database_url,
        engine="tenants.postgresql_backend",
        # Persistent connections under WSGI. Session pooling only: transaction pooling
        # (PgBouncer in transaction mode, RDS Proxy) would lose the search_path between
        # statements and mix councils' data.
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 600),
    )
}
# A connection that has served this many distinct council schemas is closed at the end of its
# request or task and reopened by the next (tenants.connection_recycling): it bounds the
# catalogue cache each PostgreSQL backend keeps per table it has touched. 0 turns it off.
CONNECTION_COUNCILS_LIMIT = env_int("COUNTERFOIL_CONNECTION_COUNCILS_LIMIT", 100)
# On a Citus cluster a new council stays on the worker Citus built it on unless that worker
# holds this much more than the least-loaded one (tenants.actions.council_moves): Citus's own
# turn-taking keeps new councils even, and a move costs provisioning more than a second.
COUNCIL_PLACEMENT_SLACK_BYTES = env_int("COUNTERFOIL_COUNCIL_PLACEMENT_SLACK_MB", 64) * 2**20
# Council schemas built ahead of need (tenants.spare_schemas): a new council renames one
# instead of building its own, and a worker builds the next. 0 turns the pool off.
SPARE_COUNCIL_SCHEMAS = env_int("COUNTERFOIL_SPARE_COUNCIL_SCHEMAS", 2)
# In production the password comes from the database's own secret (rotated by RDS), injected
# on its own, so that DATABASE_URL holds no secret.
if env_str("DATABASE_PASSWORD"):
    DATABASES["default"]["PASSWORD"] = env_str("DATABASE_PASSWORD")
# A form's choices are read with .iterator(), which in autocommit declares a server-side
# cursor WITH HOLD: three round trips for a handful of rows, on every page with a select.
# Streaming large results goes through COPY or an explicit named cursor instead.
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
# Each test session gets its own test database, so sessions running side by side never clash.
if env_str("TEST_DATABASE_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": env_str("TEST_DATABASE_NAME")}
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache ----------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
ACCOUNT_SECURITY_CACHE_TABLE = "account_security_cache"
_council_cache_backend = (
    {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
)
# Sign-in security (allauth's used TOTP codes, its rate limits and their locks, the second
# factor's lock) is one set of keys for the whole platform, seen by every process on every host:
# never per process, never per council. Redis when there is one; otherwise a table in the
# public schema (created by tenants migration 0009), so the demo is as safe as production.
_account_security_backend = (
    {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "account-security",
    }
    if REDIS_URL
    else {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": ACCOUNT_SECURITY_CACHE_TABLE,
        # Culling past MAX_ENTRIES drops live keys (counts, used codes): keep it far above
        # what sign-ins produce in a used code's or a count's lifetime.
        "OPTIONS": {"MAX_ENTRIES": 50_000},
    }
)
CACHES = {
    # allauth reads only "default": this router sends its keys ("allauth...", and the ID
    # tokens already used, "jwt:...", so a replayed one is refused by every process) to
    # "account_security", everything else to "council" (tenants.security_cache).
    "default": {
        "BACKEND": "tenants.security_cache.SecurityRoutingCache",
        "OPTIONS": {
            "SECURITY_CACHE": "account_security",
            "COUNCIL_CACHE": "council",
            "SECURITY_KEY_PREFIXES": ["allauth", "jwt:"],
        },
    },
    "council": {
        **_council_cache_backend,
        # Every key carries the council's schema, so one council never reads another's entry.
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    },
    "account_security": _account_security_backend,
}

# --- sessions and security ------------------------------------------------------------------
HTTPS = env_bool("HTTPS", False)
# Host-only cookies: no SESSION_COOKIE_DOMAIN, so a council's cookie is never sent to another.
SESSION_COOKIE_DOMAIN = None
CSRF_COOKIE_DOMAIN = None
SESSION_COOKIE_NAME = "counterfoil_session"
# Django's database sessions, read with one schema-qualified statement (tenants.session_store).
SESSION_ENGINE = "tenants.session_store"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_SECONDS", 30 * 60)
# The idle timeout is renewed by tenants.session_lifetime at most once a minute for a signed-in
# person, not by writing the session on every request (a database write per page).
SESSION_SAVE_EVERY_REQUEST = False
SESSION_REFRESH_SECONDS = 60
# Paths a suspended council's host still takes posts on (tenants.read_only): GOV.UK Pay's
# webhooks report payments citizens already made, which must be recorded all the same.
OPEN_WHILE_SUSPENDED = ("/govuk-pay/webhook/",)
# However active, a sign-in ends this long after it began (tenants.session_lifetime).
SESSION_ABSOLUTE_SECONDS = env_int("SESSION_ABSOLUTE_SECONDS", 12 * 60 * 60)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = 63072000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Django's and allauth's backends, each loading a council member's membership with the user.
AUTHENTICATION_BACKENDS = [
    "tenants.authentication.CouncilModelBackend",
    "tenants.authentication.CouncilAuthenticationBackend",
]

# --- allauth --------------------------------------------------------------------------------
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
# tenants.account_adapter's, whose emails also say their kind (for Notify's templates).
ACCOUNT_ADAPTER = "counterfoil.notify.account_adapter.EmailKindAccountAdapter"
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = True
# Wrong passwords and wrong second-factor codes: five per five minutes per account (counted
# once for every host: tenants.account_adapter) and per address, in the "account_security"
# cache that every process shares. Wrong codes also lock the second factor
# (tenants.second_factor_lock).
ACCOUNT_RATE_LIMITS = {"login_failed": "5/5m/ip,5/5m/key"}
# Behind a load balancer every request comes from its address: count per client instead, from
# the last X-Forwarded-For hop the trusted proxies added.
ALLAUTH_TRUSTED_PROXY_COUNT = env_int(
    "TRUSTED_PROXY_COUNT", 1 if env_bool("BEHIND_TLS_PROXY", False) else 0
)
# Sign-up is by invitation only: an address with no account gets no email either (it would
# only say so, and anyone may type anyone's address).
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "Counterfoil: "
# A reset link works for an hour (Django's default is three days).
PASSWORD_RESET_TIMEOUT = 60 * 60
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"
ACCOUNT_LOGOUT_REDIRECT_URL = "/"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_TOTP_ISSUER = "Counterfoil"
# One 30-second step either side, as RFC 6238 advises for network delay and clock drift: a code
# typed at the end of its window still works when it arrives.
MFA_TOTP_TOLERANCE = 1
MFA_ADAPTER = "tenants.account_adapter.KeepOneSecondFactorAdapter"
# allauth's code checks, locked after wrong codes (tenants.second_factor_lock).
MFA_FORMS = {
    "authenticate": "tenants.second_factor_lock.LockingAuthenticateForm",
    "reauthenticate": "tenants.second_factor_lock.LockingReauthenticateForm",
}
# A sensitive action (changing a role, removing a member, suspending a council) asks for the
# password (or a second factor) again unless the person gave it this recently.
ACCOUNT_REAUTHENTICATION_TIMEOUT = env_int("REAUTHENTICATION_SECONDS", 5 * 60)

# --- sign-in through a council's own identity provider (OpenID Connect) ----------------------
# One allauth SocialApp per council (tenants.models.CouncilIdentityProvider); its secret is kept
# encrypted beside it, and the adapter shows a council's host its own app and no other.
SOCIALACCOUNT_ADAPTER = "tenants.social_account_adapter.CouncilSocialAccountAdapter"
# Nobody signs up: the provider only vouches for people who are already members.
SOCIALACCOUNT_AUTO_SIGNUP = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
# Access tokens are not needed once the person is known: none is kept.
SOCIALACCOUNT_STORE_TOKENS = False
# Starting a sign-in is a POST (with its CSRF token), never a link anyone can make you follow.
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_REQUESTS_TIMEOUT = env_int("SSO_TIMEOUT_SECONDS", 10)
SOCIALACCOUNT_PROVIDERS = {"openid_connect": {"OAUTH_PKCE_ENABLED": True}}
# Issuers must be https on a public address; the demo's and the tests' stand-in provider
# listens on 127.0.0.1 over http, allowed with this (or DEBUG). Unset in production.
SSO_INSECURE_ISSUERS = env_bool("SSO_INSECURE_ISSUERS", False)

# --- email ----------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_FILE_PATH = str(DATA_DIR / "mail")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", f"Counterfoil <no-reply@{PLATFORM_DOMAIN}>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- email through GOV.UK Notify (counterfoil.notify) ----------------------------------------
# With an API key ("name-<service id>-<secret>") every email goes through GOV.UK Notify: the
# backend hands each message to a task (sent when the transaction commits) that calls Notify's
# API, retrying while Notify is down or busy. Without one, EMAIL_BACKEND above sends them.
# Stripe (billing): the secret key, where the API is (a local stand-in in the demo and tests),
# and the webhook signing secrets, comma-separated so a rotated secret keeps working a while.
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
STRIPE_API_BASE = env_str("STRIPE_API_BASE", "https://api.stripe.com")
STRIPE_WEBHOOK_SECRETS = env_list("STRIPE_WEBHOOK_SECRETS", [])
STRIPE_MAX_NETWORK_RETRIES = env_int("STRIPE_MAX_NETWORK_RETRIES", 3)

NOTIFY_API_KEY = env_str("NOTIFY_API_KEY")
NOTIFY_BASE_URL = env_str("NOTIFY_BASE_URL", "https://api.notifications.service.gov.uk")
# Which Notify email template each kind of message uses (kind=template id, comma separated):
# `default` is required, and used for any kind not named. Each template's subject is
# ((subject)) and its body ((body)).
NOTIFY_TEMPLATE_IDS = notify_template_ids(env_str("NOTIFY_TEMPLATE_IDS"))
# A reply-to address registered with the Notify service (its id), or Notify's default.
NOTIFY_REPLY_TO_ID = env_str("NOTIFY_REPLY_TO_ID")
NOTIFY_TIMEOUT_SECONDS = float(env_str("NOTIFY_TIMEOUT_SECONDS", "10"))
# While Notify answers 429 or 5xx (or not at all) a message is tried again after 30 s, 1 min,
# 2 min... (at most an hour apart), this many times, and then recorded as failed.
NOTIFY_RETRIES = env_int("NOTIFY_RETRIES", 12)
NOTIFY_RETRY_FIRST_SECONDS = float(env_str("NOTIFY_RETRY_FIRST_SECONDS", "30"))
NOTIFY_RETRY_LONGEST_SECONDS = float(env_str("NOTIFY_RETRY_LONGEST_SECONDS", "3600"))
if NOTIFY_API_KEY:
    if "default" not in NOTIFY_TEMPLATE_IDS:
        raise ImproperlyConfigured(
            "NOTIFY_API_KEY is set, so NOTIFY_TEMPLATE_IDS must name a default template "
            "(default=<template id>)."
        )
    EMAIL_BACKEND = "counterfoil.notify.backend.NotifyEmailBackend"

# --- static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise expects it to exist
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the apps' static folders, so no collectstatic step stands between a
# fresh clone and a working page.
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = DATA_DIR / "files"
# Councils' imports, exports and archives (tenants.file_store): in this S3 bucket when set (the
# task role's credentials, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), else under the data
# folder. STORAGE_ENDPOINT_URL points at an S3-compatible server other than AWS's own.
STORAGE_BUCKET = env_str("STORAGE_BUCKET")
# Prometheus may read /metrics with this bearer token (or from the task's own loopback).
METRICS_TOKEN = env_str("METRICS_TOKEN")
STORAGE_ENDPOINT_URL = env_str("STORAGE_ENDPOINT_URL")
STORAGE_REGION = env_str("STORAGE_REGION", "eu-west-2")
# Uploads are measured as they stream in and stopped at the receiving page's limit
# (tenants.upload_limits; this one where a page sets none), before they are read whole.
FILE_UPLOAD_HANDLERS = [
    "tenants.upload_limits.SizeLimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
FILE_UPLOAD_MAX_BYTES = 20 * 1024 * 1024
# Above this a file goes to a temporary file, not memory (Django's default, said here).
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# The form fields other than files (Django's default): a page's fields are a few hundred bytes.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# How long a closed council's archive (archives/<schema>/ in the bucket or data folder) is kept.
ARCHIVE_RETENTION_DAYS = env_int("ARCHIVE_RETENTION_DAYS", 6 * 365)

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

# --- Celery ---------------------------------------------------------------------------------
BROKER_DIR = Path(env_str("COUNTERFOIL_BROKER_DIR", str(DATA_DIR / "broker")))
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # No broker to install for the demo and the tests: messages are files in the data folder,
    # read by a real, separate worker process.
    for folder in ("queue", "processed", "control"):
        (BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
    # kombu's, with each message written whole before a worker can see it.
    CELERY_BROKER_TRANSPORT = "counterfoil.filesystem_broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        # kombu's exchange tables; its default is `control/` in the current directory.
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        "polling_interval": 0.2,
    }
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Periodic work fans out per council: the scheduler sends each entry once per council schema.
CELERY_BEAT_SCHEDULER = "counterfoil.celery_beat:ServedCouncilsScheduler"
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
# Each council's dashboard says the worker is healthy while its heartbeats keep coming, and
# raises the alarm only after this many in a row are missed (one late beat is no outage).
WORKER_HEARTBEAT_SECONDS = env_int("WORKER_HEARTBEAT_SECONDS", 60)
WORKER_HEARTBEAT_MISSED_BEATS_ALARM = env_int("WORKER_HEARTBEAT_MISSED_BEATS_ALARM", 5)
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {
        "task": "income.scheduled_worker_heartbeat",
        "schedule": WORKER_HEARTBEAT_SECONDS,
        # A beat still queued after the next is due proves nothing: let it go.
        "options": {"expires": WORKER_HEARTBEAT_SECONDS},
    },
    "govuk-pay-mop-up": {
        "task": "income.govuk_pay_mop_up",
        "schedule": env_int("GOVUK_PAY_MOP_UP_SECONDS", 30 * 60),
    },
    # The dashboard's day totals gain a row per statement that writes the ledger; folding
    # them every ten minutes keeps what the dashboard reads to about a row per day and account.
    "compact-daily-totals": {"task": "income.compact_daily_totals", "schedule": 10 * 60},
    # Event notifications are sent when their change commits; this sends the retries that
    # fall due, and anything a lost message or a dead worker left behind.
    "deliver-events": {"task": "income.deliver_events", "schedule": 30},
    # Each council's usage for yesterday, to the platform's usage ledger and Stripe's meters.
    "billing-meter-usage": {
        "task": "billing.meter_usage_daily",
        "schedule": crontab(hour=2, minute=15),
    },
    # A price taking effect today replaces the old one on each subscription (after metering).
    "billing-price-changes": {
        "task": "billing.move_to_current_prices_daily",
        "schedule": crontab(hour=2, minute=45),
    },
    # Reminders of invoices 7, 30 and 60 days overdue (billing.actions.overdue), each once.
    "billing-overdue-reminders": {
        "task": "billing.overdue_reminders_daily",
        "schedule": crontab(hour=9, minute=0),
    },
    # Imports and exports whose worker vanished (income.actions.interrupted_work).
    "resume-interrupted-work": {
        "task": "income.resume_interrupted_work",
        "schedule": 5 * 60,
        "options": {"expires": 5 * 60},
    },
}
# An import or export under way this long, with no worker holding it, is sent again.
RESUME_AFTER_SECONDS = env_int("RESUME_AFTER_SECONDS", 5 * 60)

# --- GOV.UK Pay -----------------------------------------------------------------------------
GOVUK_PAY_TIMEOUT_SECONDS = float(env_str("GOVUK_PAY_TIMEOUT_SECONDS", "10"))
GOVUK_PAY_RETRIES = env_int("GOVUK_PAY_RETRIES", 2)
GOVUK_PAY_BACKOFF_SECONDS = float(env_str("GOVUK_PAY_BACKOFF_SECONDS", "0.5"))
# Where a council's GOV.UK Pay API key may be sent: GOV.UK Pay's public API (its live and
# test services alike answer there). Admins choose from these, never type an address: the
# stored key goes wherever the address points.
GOVUK_PAY_BASE_URLS = {"https://publicapi.payments.service.gov.uk": "GOV.UK Pay"}
# An operator's choice, for the demo and the tests: the local stand-in's address(es), comma
# separated. Unset in production.
GOVUK_PAY_STANDIN_URLS = [
    url.strip().rstrip("/") for url in env_str("GOVUK_PAY_STANDIN_URLS").split(",") if url.strip()
]
# Fernet key(s), comma-separated, newest first, for secrets at rest (API keys, webhook
# secrets); unset: derived from SECRET_KEY.
COUNTERFOIL_ENCRYPTION_KEY = env_str("COUNTERFOIL_ENCRYPTION_KEY")

# --- event notifications (income.events) ------------------------------------------------------
# Endpoints must be https and must not resolve to private, loopback or link-local addresses
# (server-side request forgery); the demo and the tests, whose receivers listen on 127.0.0.1
# over http, are allowed them with DEMO_INSECURE_ENDPOINTS (or DEBUG). Unset in production.
DEMO_INSECURE_ENDPOINTS = env_bool("DEMO_INSECURE_ENDPOINTS", False)
EVENT_DELIVERY_TIMEOUT_SECONDS = float(env_str("EVENT_DELIVERY_TIMEOUT_SECONDS", "10"))
# How many POSTs a worker has in flight at once (to one endpoint or several).
EVENT_DELIVERY_CONCURRENCY = env_int("EVENT_DELIVERY_CONCURRENCY", 4)
# Failed deliveries are tried again after 1, 2, 4... minutes (at most 6 hours apart) for 3 days.
EVENT_RETRY_FIRST_SECONDS = env_int("EVENT_RETRY_FIRST_SECONDS", 60)
EVENT_RETRY_LONGEST_SECONDS = env_int("EVENT_RETRY_LONGEST_SECONDS", 6 * 3600)
EVENT_RETRY_FOR_SECONDS = env_int("EVENT_RETRY_FOR_SECONDS", 3 * 24 * 3600)
# An endpoint whose every attempt has failed for this long is paused and its admins told.
EVENT_PAUSE_AFTER_SECONDS = env_int("EVENT_PAUSE_AFTER_SECONDS", 24 * 3600)
# A worker's claim on the deliveries it is sending: one that dies leaves them to the next.
EVENT_CLAIM_SECONDS = env_int("EVENT_CLAIM_SECONDS", 120)

# --- logging --------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_context": {"()": "tenants.request_context.RequestContextFilter"},
        # Invitation, reset and confirmation links never reach a log line whole.
        "secret_paths": {"()": "counterfoil.access_log.SecretPathFilter"},
    },
    "formatters": {
        "structured": {
            "format": (
                "%(asctime)s %(levelname)s %(name)s council=%(council)s "
                "request_id=%(request_id)s %(message)s"
            )
        },
        "json": {"()": "counterfoil.json_logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            # LOG_FORMAT=json in production: one JSON object a line for the log service.
            "formatter": "json" if env_str("LOG_FORMAT", "text") == "json" else "structured",
            "filters": ["request_context", "secret_paths"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # httpx logs every request at INFO: the event log's attempts already record each one.
        "httpx": {"level": "WARNING"},
    },
}

SENTRY_DSN = env_str("SENTRY_DSN")
if SENTRY_DSN:
    init_sentry(SENTRY_DSN, environment=env_str("SENTRY_ENVIRONMENT", "production"))

# Where a council's DNS TXT proof of its own host name is looked up: the system's resolvers
# unless DNS_RESOLVERS names some (comma-separated addresses).
DNS_RESOLVERS = env_list("DNS_RESOLVERS", [])
DNS_RESOLVER_PORT = env_int("DNS_RESOLVER_PORT", 53)
DNS_TIMEOUT_SECONDS = float(env_str("DNS_TIMEOUT_SECONDS", "5"))

# Reserved words a council may not take as its subdomain: our own hosts and well-known names.
RESERVED_SLUGS = frozenset(
    {
        "www", "api", "admin", "console", "static", "media", "mail", "smtp", "ftp", "public",
        "platform", "counterfoil", "support", "help", "status", "billing", "docs", "assets",
        "accounts", "account", "login", "auth", "pay", "payments", "portal", "test", "demo",
        "information_schema", "postgres", "template0", "template1",
    }
)  # fmt: skip
