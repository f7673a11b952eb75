"""A cash-up in a real browser: the authoriser returns a miscounted cash-up to its cashier,
first without saying why (the error links to the box), then with a reason; axe-core finds no
WCAG 2.2 AA problem on the page in either state."""

import secrets

import pytest

from tenants.actions.councils import council_host, create_council
from tests.e2e.conftest import axe_violations, committed
from tests.e2e.signing_in import sign_in

pytestmark = pytest.mark.browser


def test_an_authoriser_returns_a_miscounted_cash_up(page, live_server_port, django_db_blocker):
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from income.actions.cash_up import submit_cash_up
    from income.actions.receipts import Allocation, record_receipt
    from income.models import Channel
    from tenants.models import CouncilRole
    from tests.conftest import make_member
    from tests.factories import FundFactory

    today = timezone.localdate()

    def setup():
        # A council of its own: what is committed here must not reach other tests' councils.
        council = create_council(
            name="Browser Cash-up Council", slug=f"bcash-{secrets.token_hex(3)}", acting_user=None
        )
        cashier = make_member(council, CouncilRole.INCOME_OFFICER)
        manager = make_member(council, CouncilRole.FINANCE_MANAGER)
        with schema_context(council.schema_name):
            record_receipt(
                channel=Channel.objects.get(code="CASH"), amount_pence=2_000, received_on=today,
                allocations=[Allocation(FundFactory(code="CTAX"), 2_000)],
                idempotency_key="e2e:cash", acting_user=cashier,
            )  # fmt: skip
            counted = submit_cash_up(
                council=council, business_date=today, denominations={1000: 1}, cheques=[],
                note="Short?", acting_user=cashier,
            )  # fmt: skip
        return council, manager, counted.pk

    council, manager, cash_up_id = committed(django_db_blocker, setup)
    path = f"/cash-ups/{cash_up_id}/"
    sign_in(page, f"http://{council_host(council.slug)}:{live_server_port}{path}", manager.email)
    assert axe_violations(page) == []

    page.click("button:has-text('Return to the cashier')")
    page.locator(".govuk-error-summary").wait_for()
    assert "Say why the cash-up is going back to the cashier." in page.inner_text(
        ".govuk-error-summary"
    )
    assert axe_violations(page) == []

    page.fill("textarea[name=reason]", "A £10 note was in the cheque bag")
    page.click("button:has-text('Return to the cashier')")
    page.locator(".govuk-notification-banner, .govuk-summary-list").first.wait_for()
    text = page.inner_text("main")
    assert "Returned to the cashier" in text and "A £10 note was in the cheque bag" in text
    assert axe_violations(page) == []
