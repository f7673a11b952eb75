"""The Terraform: every file parses, and what the platform promises its councils is in it
(London, encrypted, backed up for 35 days, logs kept a year, TLS 1.2 and up, a WAF with rate
limits on sign-in and webhooks). checkov runs over it in `make test` (`make checkov`)."""

from pathlib import Path

import hcl2
import pytest

TERRAFORM = Path(__file__).resolve().parents[2] / "terraform"
FILES = sorted(TERRAFORM.rglob("*.tf"))


def _module(name: str) -> dict:
    with (TERRAFORM / "modules" / name / "main.tf").open() as file:
        return hcl2.load(file)


def _resources(parsed: dict, kind: str) -> dict:
    found = {}
    for block in parsed.get("resource", []):
        found.update(block.get(kind, {}))
    return found


def test_there_is_terraform_for_both_environments_and_every_module():
    names = {path.parent.name for path in FILES}
    assert {"staging", "production"} <= names
    assert {
        "network",
        "ecs",
        "rds",
        "redis",
        "storage",
        "alb",
        "waf",
        "secrets",
        "monitoring",
    } <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(TERRAFORM)))
def test_every_file_parses(path):
    with path.open() as file:
        assert hcl2.load(file)


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_each_environment_is_in_london_with_encrypted_locked_state(environment):
    with (TERRAFORM / "environments" / environment / "main.tf").open() as file:
        parsed = hcl2.load(file)
    [provider] = parsed["provider"]
    assert provider["aws"]["region"] == "eu-west-2"
    backend = parsed["terraform"][0]["backend"][0]["s3"]
    assert backend["encrypt"] is True and backend["dynamodb_table"]


def test_the_database_is_multi_az_encrypted_protected_and_recoverable_for_35_days():
    [database] = _resources(_module("rds"), "aws_db_instance").values()
    assert database["multi_az"] is True
    assert database["storage_encrypted"] is True and database["kms_key_id"]
    assert database["backup_retention_period"] == 35
    assert database["deletion_protection"] is True
    assert database["performance_insights_enabled"] is True
    [group] = _resources(_module("rds"), "aws_db_parameter_group").values()
    assert "max_locks_per_transaction" in {p["name"] for p in group["parameter"]}


def test_logs_are_kept_at_least_a_year():
    retentions = [
        group["retention_in_days"]
        for path in FILES
        for block in hcl2.loads(path.read_text()).get("resource", [])
        for group in block.get("aws_cloudwatch_log_group", {}).values()
    ]
    assert retentions and min(retentions) >= 365


def test_the_load_balancer_speaks_tls_1_2_and_up_and_sign_in_is_rate_limited():
    listeners = _resources(_module("alb"), "aws_lb_listener")
    assert "TLS13-1-2" in listeners["https"]["ssl_policy"]
    waf = (TERRAFORM / "modules" / "waf" / "main.tf").read_text()
    for path in ("/accounts/login/", "/govuk-pay/webhook/", "/billing/stripe/webhook/"):
        assert path in waf
    assert "rate_based_statement" in waf


def test_every_checkov_skip_says_why():
    for path in FILES:
        for line in path.read_text().splitlines():
            if "checkov:skip=" in line:
                check, _, reason = line.split("checkov:skip=", 1)[1].partition(":")
                assert check.startswith("CKV") and len(reason.strip()) > 20, (path, line)


def test_the_application_alarms_watch_metrics_the_application_exports_at_the_consoles_limits():
    from console import platform_glance

    [alarms] = [
        block["application_alarms"]
        for block in _module("monitoring")["locals"]
        if "application_alarms" in block
    ]
    exported = (TERRAFORM.parent / "platform/counterfoil/metrics.py").read_text()
    ecs = (TERRAFORM / "modules/ecs/main.tf").read_text()
    for alarm in alarms.values():
        name = alarm["metric"]
        assert f'"{name}"' in exported  # a gauge counterfoil.metrics serves
        assert name.removeprefix("counterfoil_") in ecs  # and the agent publishes
    limits = {alarm["metric"]: alarm["threshold"] for alarm in alarms.values()}
    assert limits["counterfoil_worker_heartbeat_age_seconds"] == (
        platform_glance.HEARTBEAT_AGE_ALARM_SECONDS
    )
    assert limits["counterfoil_webhook_inbox_oldest_seconds"] == (
        platform_glance.WEBHOOK_WAIT_ALARM_SECONDS
    )
    assert limits["counterfoil_mop_up_lag_seconds"] == platform_glance.MOP_UP_LAG_ALARM_SECONDS
    assert limits["counterfoil_task_queue_depth"] == platform_glance.QUEUE_DEPTH_ALARM
