"""Invitation, password-reset and email-confirmation links never reach a log line whole
(counterfoil.access_log). gunicorn's own access log: tests/security/test_two_processes.py."""

import logging

import pytest

from counterfoil.access_log import SecretPathFilter, redact_secret_paths
from counterfoil.cli import web_server_command

TOKEN = "Zq3kV9mW2xT8yL4nR7pB1cD6fH0jK5sA"


@pytest.mark.parametrize(
    ("path", "kept"),
    [
        (f"/team/join/{TOKEN}/", "/team/join/[redacted]/"),
        (f"/accounts/password/reset/key/4-{TOKEN}/", "/accounts/password/reset/key/[redacted]/"),
        (f"/accounts/confirm-email/{TOKEN}/", "/accounts/confirm-email/[redacted]/"),
        (f"/pay/return/{TOKEN}/", "/pay/return/[redacted]/"),
        (f"/govuk-pay/phone/return/{TOKEN}/", "/govuk-pay/phone/return/[redacted]/"),
        (f'"GET /team/join/{TOKEN}/?x=1 HTTP/1.1"', '"GET /team/join/[redacted]/?x=1 HTTP/1.1"'),
        (
            f"http://north.localhost/team/join/{TOKEN}",
            "http://north.localhost/team/join/[redacted]",
        ),
    ],
)
def test_the_secret_part_of_a_path_is_redacted(path, kept):
    assert redact_secret_paths(path) == kept


def test_other_paths_are_left_alone():
    for path in ("/team/", "/team/members/4/role/", "/accounts/password/reset/", "/receipts/"):
        assert redact_secret_paths(path) == path


def test_djangos_log_lines_are_redacted_as_configured():
    from django.conf import settings

    assert "secret_paths" in settings.LOGGING["handlers"]["console"]["filters"]
    # As django.request logs a refused link: "Forbidden: <path>".
    record = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "%s: %s",
        ("Forbidden", f"/team/join/{TOKEN}/"), None,
    )  # fmt: skip
    SecretPathFilter().filter(record)

    assert record.getMessage() == "Forbidden: /team/join/[redacted]/"


def test_the_web_server_writes_its_access_log_through_the_redacting_logger():
    from counterfoil import gunicorn_config

    command = web_server_command(8000)
    assert command[command.index("--config") + 1] == "python:counterfoil.gunicorn_config"
    assert gunicorn_config.logger_class == "counterfoil.access_log.RedactingGunicornLogger"
