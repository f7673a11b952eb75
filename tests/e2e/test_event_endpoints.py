"""Event notifications in a real browser: the endpoint list (with an address refused in the
error summary) and an endpoint's delivery log with its attempts and a resend; axe-core finds
no WCAG 2.2 AA problem on either page."""

import datetime
import secrets

import pytest

from tenants.actions.councils import council_host, create_council
from tests.e2e.conftest import axe_violations, committed
from tests.e2e.signing_in import sign_in
from tests.standins.event_receiver import event_receiver

pytestmark = pytest.mark.browser


def test_an_admin_reads_the_delivery_log_and_resends(
    page, live_server_port, django_db_blocker, settings
):
    from django_tenants.utils import schema_context

    from income.actions.receipts import Allocation, record_receipt
    from income.events.delivery import deliver_due
    from income.events.endpoints import add_endpoint
    from income.models import Channel
    from tenants.models import CouncilRole
    from tests.conftest import make_member
    from tests.factories import FundFactory

    settings.DEMO_INSECURE_ENDPOINTS = True
    with event_receiver() as receiver:

        def setup():
            council = create_council(
                name="Browser Events Council", slug=f"bevt-{secrets.token_hex(3)}", acting_user=None
            )
            admin = make_member(council, CouncilRole.ADMIN)
            with schema_context(council.schema_name):
                endpoint = add_endpoint(
                    council=council, url=f"{receiver.url}/fail", event_types=["receipt.created"],
                    description="Revenues system", acting_user=admin,
                ).endpoint  # fmt: skip
                record_receipt(
                    channel=Channel.objects.get(code="CASH"), amount_pence=2_000,
                    received_on=datetime.date(2026, 11, 20),
                    allocations=[Allocation(FundFactory(code="CTAX"), 2_000)],
                    idempotency_key="e2e:event", acting_user=admin,
                )  # fmt: skip
                deliver_due()
            return council, admin, endpoint.pk

        council, admin, endpoint_id = committed(django_db_blocker, setup)
    base = f"http://{council_host(council.slug)}:{live_server_port}"
    sign_in(page, f"{base}/events/endpoints/", admin.email)
    assert "Revenues system" in page.inner_text("#endpoints")
    assert axe_violations(page) == []

    page.fill("input[name=url]", "http://revenues.example.gov.uk/hook")
    page.check("input[value='receipt.created']")
    page.click("button:has-text('Add endpoint')")
    page.locator(".govuk-error-summary").wait_for()
    assert "must start https:// (not http://)" in page.inner_text(".govuk-error-summary")
    assert axe_violations(page) == []

    page.goto(f"{base}/events/endpoints/{endpoint_id}/")
    log = page.inner_text("#delivery-log")
    assert "receipt.created" in log and "500 Internal Server Error" in log
    assert axe_violations(page) == []
    page.click("#delivery-log button:has-text('Resend')")
    page.locator(".govuk-notification-banner").first.wait_for()
    assert "is being sent again" in page.inner_text("main")
    assert axe_violations(page) == []
