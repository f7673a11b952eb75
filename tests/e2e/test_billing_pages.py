"""The billing pages in a real browser, each checked with axe-core: a council admin sees the
overdue banner, opens Billing (invoices, the cost-sharing statement's chart and table) and saves
the billing details after a refused email address; an operator reads the console's billing
pages; a finance manager and an auditor are refused the Billing page.

The billing rows live in the public schema, which every test in this process sees: they are
made without Stripe (no customer id, so saving the details calls nobody) and deleted at the end.
"""

import datetime
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC

import pytest
from playwright.sync_api import Page

from tenants.actions.councils import council_host, create_council
from tests.e2e.conftest import axe_violations, committed
from tests.e2e.signing_in import sign_in

pytestmark = pytest.mark.browser

# April of the current financial year: the month the platform's costs are entered for.
# Compute £1,234.56 and Database £200.00 over 1,000 transactions: 143.46p each, and the
# council, the only one billed that month, carries the whole £1,434.56.
COSTS = {"Compute": 123_456, "Database": 20_000}
TRANSACTIONS_PER_DAY = 500


@dataclass
class Billed:
    council: object
    base: str  # the council's address
    console: str  # the platform's address
    overdue_number: str
    paid_number: str
    paid_pdf: str
    paid_hosted: str
    overdue_hosted: str
    year_label: str
    month: datetime.date


def _epoch(day: datetime.date) -> int:
    return int(datetime.datetime.combine(day, datetime.time(9), tzinfo=UTC).timestamp())


@pytest.fixture(scope="module")
def billed(live_server_port, django_db_blocker) -> Iterator[Billed]:
    from django.utils import timezone

    from billing.cost_models import CostSource, PlatformCost
    from billing.cost_statement import financial_year_of, months_of_year, year_label
    from billing.models import BillingAccount, Invoice, Meter, PriceBookRow, PriceKind, UsageRecord

    today = timezone.localdate()
    year = financial_year_of(today)
    april = months_of_year(year)[0]
    tag = secrets.token_hex(3)

    def setup() -> Billed:
        # A council of its own: what is committed here must not reach other tests' councils.
        council = create_council(
            name="Browser Billing Council", slug=f"bbil-{tag}", acting_user=None
        )
        account = BillingAccount.objects.create(council=council, population=120_000)
        PriceBookRow.objects.create(kind=PriceKind.BAND, amount_pence=50_000, effective_from=april)
        PriceBookRow.objects.create(
            kind=PriceKind.TRANSACTION, amount_pence=2, effective_from=april
        )
        for category, pence in COSTS.items():
            PlatformCost.objects.create(
                month=april, category=category, amount_pence=pence, source=CostSource.MANUAL
            )
        for day in (april.replace(day=2), april.replace(day=3)):
            UsageRecord.objects.create(
                council=council, day=day, meter=Meter.TRANSACTIONS, quantity=TRANSACTIONS_PER_DAY
            )
            UsageRecord.objects.create(
                council=council, day=day, meter=Meter.STORED_BYTES, quantity=2_000_000
            )
        paid = Invoice.objects.create(
            account=account, stripe_id=f"in_paid_{tag}", number=f"BB-{tag}-0001",
            status="paid", amount_due_pence=12_000, amount_paid_pence=12_000,
            hosted_invoice_url=f"https://invoice.stripe.com/i/in_paid_{tag}",
            invoice_pdf=f"https://pay.stripe.com/invoice/in_paid_{tag}/pdf",
            stripe_created=_epoch(april.replace(day=5)),
        )  # fmt: skip
        overdue = Invoice.objects.create(
            account=account, stripe_id=f"in_late_{tag}", number=f"BB-{tag}-0002",
            status="open", overdue=True, amount_due_pence=60_000,
            hosted_invoice_url=f"https://invoice.stripe.com/i/in_late_{tag}",
            due_date=_epoch(today - datetime.timedelta(days=10)),
            stripe_created=_epoch(today - datetime.timedelta(days=40)),
        )  # fmt: skip
        return Billed(
            council=council,
            base=f"http://{council_host(council.slug)}:{live_server_port}",
            console=f"http://localhost:{live_server_port}",
            overdue_number=overdue.number,
            paid_number=paid.number,
            paid_pdf=paid.invoice_pdf,
            paid_hosted=paid.hosted_invoice_url,
            overdue_hosted=overdue.hosted_invoice_url,
            year_label=year_label(year),
            month=april,
        )

    made = committed(django_db_blocker, setup)
    yield made

    def clean_up() -> None:
        # Public-schema rows every later test would see (overdue lists, statements, prices).
        Invoice.objects.filter(account__council=made.council).delete()
        UsageRecord.objects.filter(council=made.council).delete()
        PlatformCost.objects.filter(month=april, category__in=COSTS).delete()
        PriceBookRow.objects.filter(effective_from=april).delete()
        BillingAccount.objects.filter(council=made.council).delete()

    committed(django_db_blocker, clean_up)


def _member(django_db_blocker, council, role):
    from tests.conftest import make_member

    return committed(django_db_blocker, lambda: make_member(council, role))


def assert_accessible(page: Page) -> None:
    assert axe_violations(page) == [], page.url


def test_a_council_admin_sees_the_overdue_invoice_and_keeps_the_billing_details(
    page, billed, django_db_blocker
):
    from tenants.models import CouncilRole

    admin = _member(django_db_blocker, billed.council, CouncilRole.ADMIN)
    sign_in(page, f"{billed.base}/", admin.email)
    banner = page.locator("#billing-overdue")
    assert "An invoice to Browser Billing Council is overdue" in banner.inner_text()
    assert f"Invoice {billed.overdue_number} for £600.00, 10 days overdue" in banner.inner_text()
    # Billing is in an admin's menu too, overdue or not.
    assert page.locator(".govuk-service-navigation__link", has_text="Billing").count() == 1
    assert_accessible(page)

    page.click("text=See and pay your invoices")
    page.wait_for_url(f"{billed.base}/billing/")
    invoices = page.locator("#invoices tbody tr")
    assert invoices.count() == 2
    # Newest first: the overdue one, then April's paid one with its PDF.
    late, paid = invoices.nth(0), invoices.nth(1)
    assert late.locator("th").inner_text() == billed.overdue_number
    assert "open" in late.inner_text() and "Overdue" in late.inner_text()
    assert "£600.00" in late.inner_text()
    assert late.locator("a").get_attribute("href") == billed.overdue_hosted
    assert late.locator("a").text_content() == f"View and pay invoice {billed.overdue_number}"
    assert "£120.00" in paid.inner_text() and "Overdue" not in paid.inner_text()
    assert [paid.locator("a").nth(i).get_attribute("href") for i in range(2)] == [
        billed.paid_hosted,
        billed.paid_pdf,
    ]

    statement = page.locator("#cost-statement")
    assert statement.inner_text() == f"Cost-sharing statement {billed.year_label}"
    month = billed.month.strftime("%b %Y")
    chart = page.locator("figure#cost-per-transaction")
    assert chart.locator("svg rect.counterfoil-chart__bar").count() == 2
    assert chart.locator("svg text").all_text_contents() == ["143.46p", "143.46p"]
    # Equal costs per transaction: bars of equal length (the longest takes 75%), the
    # platform's grey from the stylesheet (the policy refuses an inline style).
    bars = chart.locator("svg rect")
    assert [bars.nth(i).get_attribute("width") for i in range(2)] == ["75%", "75%"]
    fill = "rect => getComputedStyle(rect).fill"
    assert [bars.nth(i).evaluate(fill) for i in range(2)] == [
        "rgb(29, 112, 184)",
        "rgb(80, 90, 95)",
    ]
    assert chart.locator("[role=img]").get_attribute("aria-label") == (
        "Cost per transaction by month, Browser Billing Council against the platform: "
        f"{billed.month:%B %Y} 143.46p against 143.46p."
    )
    chart_table = page.locator("#cost-per-transaction-table tbody tr")
    assert chart_table.all_inner_texts() == [f"{month}\t143.46p\t143.46p"]
    [april] = page.locator("#statement tbody tr").all_inner_texts()
    assert april.split("\t") == [
        f"{billed.month:%B %Y}", "£1,434.56", "0", "1000", "2000000", "£1,434.56", "£100.00"
    ]  # fmt: skip
    assert "£100.00" in page.locator("#true-up").inner_text()  # £120 paid, before its VAT
    assert_accessible(page)

    page.fill("#id_contact_name", "Priya Payables")
    page.fill("#id_contact_email", "not an email address")
    page.fill("#id_po_number", "PO-2026-0042")
    page.click("text=Save billing details")
    page.wait_for_selector(".govuk-error-summary")
    assert page.title().startswith("Error: Billing")
    summary = page.locator(".govuk-error-summary")
    assert "There is a problem" in summary.inner_text()
    assert summary.locator("a").inner_text() == "Enter a valid email address."
    assert summary.locator("a").get_attribute("href") == "#id_contact_email"
    assert_accessible(page)

    page.fill("#id_contact_email", "payables@browser-billing.example")
    page.click("text=Save billing details")
    page.wait_for_selector("text=Billing details saved")
    assert page.locator(".govuk-error-summary").count() == 0
    assert page.input_value("#id_contact_name") == "Priya Payables"
    assert page.input_value("#id_contact_email") == "payables@browser-billing.example"
    assert page.input_value("#id_po_number") == "PO-2026-0042"
    assert_accessible(page)


def test_an_operator_reads_the_console_billing_pages(page, billed, django_db_blocker):
    from tenants.models import PlatformRole
    from tests.factories import UserFactory

    operator = committed(
        django_db_blocker, lambda: UserFactory(platform_role=PlatformRole.OPERATOR)
    )
    sign_in(page, f"{billed.console}/console/billing/", operator.email)
    worklist = page.locator("#billing-overdue-worklist tbody tr", has_text="Browser Billing")
    assert f"{billed.overdue_number}\t£600.00\t10 days\tReminded" in worklist.inner_text()
    account = page.locator("#billing-accounts tbody tr", has_text="Browser Billing Council")
    assert account.locator("input[name=population]").input_value() == "120000"
    assert account.locator("strong.govuk-tag--red").inner_text() == "1"  # overdue, flagged
    assert_accessible(page)

    page.click("#main-content >> text=Price book")
    page.wait_for_url("**/console/billing/prices/")
    band = page.locator("#price-book tbody tr", has_text="Current").filter(has_text="50000")
    assert band.count() == 1
    assert_accessible(page)

    page.goto(f"{billed.console}/console/billing/statement/")
    assert page.locator("h1").inner_text() == f"Cost-sharing statement {billed.year_label}"
    heading = page.locator(f"#month-{billed.month:%Y-%m}")
    assert heading.inner_text() == f"{billed.month:%B %Y}: £1,434.56"
    assert "Compute £1,234.56; Database £200.00" in page.content()
    assert page.locator("#cost-formula").count() == 1
    ours = page.locator("#true-ups tbody tr", has_text="Browser Billing Council")
    assert ours.inner_text().split("\t")[:3] == [
        "Browser Billing Council", "£100.00", "£1,434.56"
    ]  # fmt: skip
    assert_accessible(page)


@pytest.mark.parametrize("role", ["finance_manager", "auditor"])
def test_staff_who_are_not_admins_are_refused_the_billing_page(
    page, billed, django_db_blocker, role
):
    user = _member(django_db_blocker, billed.council, role)
    sign_in(page, f"{billed.base}/", user.email)
    # The finance manager is told of the overdue invoice, and who can pay it; the auditor not.
    banner = page.locator("#billing-overdue")
    if role == "finance_manager":
        assert "Your council's admins can see and pay them" in banner.inner_text()
        assert page.locator("text=See and pay your invoices").count() == 0
    else:
        assert banner.count() == 0
    assert page.locator(".govuk-service-navigation__link", has_text="Billing").count() == 0

    answer = page.goto(f"{billed.base}/billing/")
    assert answer.status == 403
    assert page.title().startswith("You cannot do this")
    assert page.locator("h1").inner_text() == "You cannot do this"
    assert "Your role does not allow this." in page.content()
    assert "ask one of Browser Billing Council\u2019s admins" in page.content()
    # None of the page itself (the banner above still names the overdue invoice to a manager).
    assert page.locator("#invoices, #cost-statement, #id_contact_email").count() == 0
    assert billed.paid_number not in page.content()
    assert_accessible(page)
