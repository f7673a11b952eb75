"""Settings come from the environment and are safe with production values."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from django_tenants.utils import schema_context

REPOSITORY = Path(__file__).resolve().parents[2]

PRODUCTION_LIKE = {
    "SECRET_KEY": "x7#kP2!vQ9@mL4$wR8^nB3&jF6*hT1(zC5)yD0_uE2+aG7-sI4=oK9",
    "DEBUG": "false",
    "HTTPS": "true",
    "PLATFORM_DOMAIN": "counterfoil.example.org",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


def test_check_deploy_reports_nothing_with_production_values():
    env = {**os.environ, **PRODUCTION_LIKE}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"],
        cwd=REPOSITORY,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_an_invalid_boolean_is_refused_with_its_name():
    env = {**os.environ, "DEBUG": "perhaps"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=REPOSITORY,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "DEBUG must be true or false, not 'perhaps'" in result.stderr


def test_tenancy_traps_are_set(settings):
    assert settings.TENANT_LIMIT_SET_CALLS is False
    assert settings.SESSION_COOKIE_DOMAIN is None  # host-only cookies
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] > 0  # persistent under WSGI
    # The default cache sends allauth's keys to the shared "account_security" cache and
    # everything else to "council", whose keys carry the council's schema.
    assert settings.CACHES["council"]["KEY_FUNCTION"] == "django_tenants.cache.make_key"
    assert "KEY_FUNCTION" not in settings.CACHES["account_security"]


@pytest.mark.django_db
def test_cache_keys_belong_to_one_council(council_a, council_b):
    with schema_context(council_a.schema_name):
        cache.set("dashboard-totals", "A's totals")
    with schema_context(council_b.schema_name):
        assert cache.get("dashboard-totals") is None
    with schema_context(council_a.schema_name):
        assert cache.get("dashboard-totals") == "A's totals"


def test_log_format_json_writes_one_object_a_line_with_council_and_request_id():
    code = (
        "import logging, django; django.setup(); "
        "logging.getLogger('counterfoil.check').warning('paid %s', 'ok')"
    )
    env = {**os.environ, "LOG_FORMAT": "json", "DJANGO_SETTINGS_MODULE": "counterfoil.settings"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPOSITORY, env=env, capture_output=True, text=True
    )
    [line] = [line for line in result.stderr.splitlines() if "counterfoil.check" in line]
    entry = json.loads(line)
    assert (entry["level"], entry["logger"], entry["message"]) == (
        "WARNING", "counterfoil.check", "paid ok",
    )  # fmt: skip
    assert entry["council"] == "public" and entry["request_id"] == "-"  # no request, no council
    assert entry["time"].endswith("+00:00")
