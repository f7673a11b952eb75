"""A council's own audit log: its members see its records, and only its records."""

import pytest
from django_tenants.utils import schema_context

from tenants.audit.recording import record_audit
from tenants.models import CouncilRole
from tests.conftest import host_client, make_member, sign_in

pytestmark = pytest.mark.django_db


def test_members_read_their_councils_audit_log_and_not_anothers(council_a, council_b):
    auditor = make_member(council_a, CouncilRole.AUDITOR)
    with schema_context(council_a.schema_name):
        record_audit("member.invited", acting_user=auditor, reason="At A")
    with schema_context(council_b.schema_name):
        record_audit("member.invited", acting_user=auditor, reason="At B")
    record_audit("council.suspended", acting_user=auditor, reason="On the platform")
    client = sign_in(host_client(council_a), auditor)

    assert b"Audit log" in client.get("/team/").content
    page = client.get("/team/audit/").content.decode()

    assert "At A" in page
    assert "At B" not in page
    assert "On the platform" not in page
    assert "At A" not in client.get("/team/audit/?action=receipt.").content.decode()
    assert "At A" in client.get("/team/audit/?action=member.").content.decode()


def test_the_audit_log_is_for_members_only(council_a, council_b):
    outsider = make_member(council_b, CouncilRole.ADMIN)
    client = host_client(council_a)
    assert client.get("/team/audit/")["Location"].startswith("/accounts/login/")
    client = sign_in(host_client(council_a), outsider)
    assert client.get("/team/audit/").status_code == 404
