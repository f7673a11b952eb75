"""A report in a real browser: an auditor opens the daily takings by fund, with its chart and
table, and axe-core finds no WCAG 2.2 AA problem on the list or the report."""

import datetime
import secrets

import pytest

from tenants.actions.councils import council_host, create_council
from tests.e2e.conftest import axe_violations, committed
from tests.e2e.signing_in import sign_in

pytestmark = pytest.mark.browser


def test_an_auditor_reads_the_takings_by_fund_report(page, live_server_port, django_db_blocker):
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from income.actions.receipts import Allocation, record_receipt
    from income.models import Channel
    from tenants.models import CouncilRole
    from tests.conftest import make_member
    from tests.factories import FundFactory

    today = timezone.localdate()

    def setup():
        # A council of its own: what is committed here must not reach other tests' councils.
        council = create_council(
            name="Browser Reports Council", slug=f"brep-{secrets.token_hex(3)}", acting_user=None
        )
        with schema_context(council.schema_name):
            cash = Channel.objects.get(code="CASH")
            for code, name, pence in (("CTAX", "Council Tax", 12_345), ("PARK", "Parking", 500)):
                fund = FundFactory(code=code, name=name)
                record_receipt(
                    channel=cash, amount_pence=pence, received_on=today,
                    allocations=[Allocation(fund, pence)], idempotency_key=f"e2e:{code}",
                    acting_user=None,
                )  # fmt: skip
        return council, make_member(council, CouncilRole.AUDITOR)

    council, auditor = committed(django_db_blocker, setup)
    base = f"http://{council_host(council.slug)}:{live_server_port}"
    sign_in(page, f"{base}/reports/", auditor.email)
    assert axe_violations(page) == []

    page.click("text=Daily takings by fund")
    start = today - datetime.timedelta(days=7)
    page.fill("input[name=start]", start.strftime("%d/%m/%Y"))
    page.fill("input[name=end]", today.strftime("%d/%m/%Y"))
    page.click("button:has-text('Show the report')")
    page.wait_for_selector("figure.counterfoil-chart svg rect")
    assert "£123.45" in page.locator("figure.counterfoil-chart").inner_text()
    assert "£128.45" in page.locator("table.counterfoil-report-table tfoot").inner_text()
    assert axe_violations(page) == []

    page.fill("input[name=end]", (start - datetime.timedelta(days=1)).strftime("%d/%m/%Y"))
    page.click("button:has-text('Show the report')")
    assert "The end date must be the same as or after the start date." in page.content()
    assert axe_violations(page) == []
