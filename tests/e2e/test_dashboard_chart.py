"""The dashboard's charts in a real browser: labelled bars, and accessible."""

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from tenants.actions.councils import council_host, create_council
from tenants.models import CouncilRole
from tests.e2e.conftest import axe_violations, committed
from tests.e2e.signing_in import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def council_with_takings(django_db_blocker):
    def make():
        from income.actions.receipts import Allocation, record_receipt
        from income.defaults import seed_income_defaults
        from income.models import Channel
        from tests.conftest import make_member
        from tests.factories import FundFactory

        council = create_council(name="Chartwell Council", slug="chartwell", acting_user=None)
        member = make_member(council, CouncilRole.AUDITOR, email="chart.auditor@example.org")
        with schema_context(council.schema_name):
            seed_income_defaults()
            cash = Channel.objects.get(code="CASH")
            for number, (code, name, pence) in enumerate(
                (("CTAX", "Council Tax", 1_234_500), ("PARK", "Parking Fines", 40_000))
            ):
                record_receipt(
                    channel=cash, amount_pence=pence, received_on=timezone.localdate(),
                    allocations=[Allocation(FundFactory(code=code, name=name), pence)],
                    idempotency_key=f"chart-{number}", acting_user=None,
                )  # fmt: skip
        connection.set_schema_to_public()
        return council, member

    council, member = committed(django_db_blocker, make)
    yield council, member
    committed(django_db_blocker, lambda: council.delete(force_drop=True))


def test_the_dashboards_bars_show_their_labels_and_amounts(
    page, live_server_port, council_with_takings
):
    council, member = council_with_takings
    base = f"http://{council_host(council.slug)}:{live_server_port}"
    page.set_viewport_size({"width": 1100, "height": 1400})
    sign_in(page, f"{base}/accounts/login/", member.email, lands_on=f"{base}/")

    chart = page.locator("#today-by-fund .counterfoil-chart__bars")
    assert chart.get_attribute("aria-label") == (
        "Income today by fund: CTAX Council Tax £12,345.00; PARK Parking Fines £400.00."
    )
    rows = chart.locator(".counterfoil-chart__row")
    assert rows.nth(0).inner_text().split("\n") == ["CTAX Council Tax", "£12,345.00"]
    widths = [
        rows.nth(i).locator(".counterfoil-chart__bar").bounding_box()["width"] for i in (0, 1)
    ]
    assert widths[0] > 200 and 0 < widths[1] < widths[0] / 10
    # The amount sits just after the end of its bar, inside the chart.
    first_bar = rows.nth(0).locator(".counterfoil-chart__bar").bounding_box()
    first_value = rows.nth(0).locator(".counterfoil-chart__value").bounding_box()
    chart_box = chart.bounding_box()
    assert first_bar["x"] + first_bar["width"] <= first_value["x"]
    assert first_value["x"] + first_value["width"] <= chart_box["x"] + chart_box["width"]
    assert axe_violations(page) == []
