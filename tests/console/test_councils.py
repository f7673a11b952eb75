"""The operator console's council list, council page and platform audit log."""

import datetime
import re

import pytest
import time_machine
from django.utils import timezone
from django_tenants.utils import schema_context

from console.council_usage import council_usage
from tenants.audit.models import AuditEvent
from tenants.audit.recording import record_audit
from tenants.models import CouncilRole, PlatformRole
from tests.conftest import host_client, make_member, sign_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator():
    return UserFactory(platform_role=PlatformRole.OPERATOR)


def test_the_council_list_shows_status_members_last_activity_and_schema_size(
    council_a, council_b, operator
):
    make_member(council_a, CouncilRole.ADMIN)
    # Three hours ago, not "now": a page served a second later under load says "1 second
    # ago", and the words for three hours stay the same for an hour.
    with (
        schema_context(council_a.schema_name),
        time_machine.travel(timezone.now() - datetime.timedelta(hours=3), tick=False),
    ):
        record_audit("test.activity", acting_user=None)

    page = sign_in(host_client(None), operator).get("/console/").content.decode()

    assert "Northbrook Test Council" in page
    assert "Southmere Test Council" in page
    assert "Active" in page
    assert re.search(r"3\s+hours ago", page)  # council A's last activity
    usage = council_usage([council_a, council_b])
    assert usage[council_a.schema_name].schema_bytes > 100_000
    assert usage[council_a.schema_name].last_activity is not None
    assert "KB" in page or "MB" in page


def test_the_council_list_shows_payments_and_value_this_month(council_a, operator):
    from django.utils import timezone

    from income.actions.receipts import Allocation, record_receipt
    from income.models import Channel
    from tests.factories import FundFactory

    officer = make_member(council_a, CouncilRole.INCOME_OFFICER)
    with schema_context(council_a.schema_name):
        fund = FundFactory()
        cash = Channel.objects.get(code="CASH")
        for number, pence in enumerate((1250, 8000)):
            record_receipt(
                channel=cash, amount_pence=pence, received_on=timezone.localdate(),
                allocations=[Allocation(fund, pence)], idempotency_key=f"console:{number}",
                acting_user=officer,
            )  # fmt: skip

    usage = council_usage([council_a])[council_a.schema_name]
    assert (usage.payments_this_month, usage.value_this_month_pence) == (2, 9250)
    page = sign_in(host_client(None), operator).get("/console/").content.decode()
    assert "£92.50" in page


def test_support_staff_see_the_console(council_a):
    support = UserFactory(platform_role=PlatformRole.SUPPORT)
    client = sign_in(host_client(None), support)
    assert client.get("/console/").status_code == 200
    assert client.get(f"/console/councils/{council_a.pk}/").status_code == 200
    assert client.get("/console/audit/").status_code == 200


def test_the_platform_audit_log_lists_platform_actions_only(council_a, operator):
    record_audit("platform.thing", acting_user=operator, reason="Because")
    with schema_context(council_a.schema_name):
        record_audit("council.thing", acting_user=operator)

    page = sign_in(host_client(None), operator).get("/console/audit/").content.decode()

    assert "platform.thing" in page
    assert "Because" in page
    assert "council.thing" not in page
    assert AuditEvent.objects.filter(action="platform.thing").exists()


def test_a_councils_console_page_is_a_platform_page(council_a, operator):
    page = sign_in(host_client(None), operator).get(f"/console/councils/{council_a.pk}/")
    html = page.content.decode()
    assert "Counterfoil: shared income management for UK councils" in html  # the footer
    assert "income management hosted by Counterfoil" not in html
    assert '<h1 class="govuk-heading-l">Northbrook Test Council</h1>' in html
