"""A bare Django project: startproject's apps and middleware, no tenancy.

Without BARE_DATABASE_URL it has no database (an anonymous request touches none). With it, it
uses that database with the same connection settings as Counterfoil (persistent connections,
health checks), so a signed-in request pays for its session and user as Django does anywhere.
"""

import os

from counterfoil.database_url import database_settings

SECRET_KEY = "bench-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
]
# Exactly startproject's list, so the reference pays for what any Django project pays for.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "tests.bench.bare_project.urls"
# The view never touches a database, and neither does the middleware for an anonymous request.
_url = os.environ.get("BARE_DATABASE_URL")
DATABASES = (
    {"default": database_settings(_url, engine="django.db.backends.postgresql", conn_max_age=600)}
    if _url
    else {}
)
SESSION_COOKIE_NAME = "bare_session"
USE_TZ = True
