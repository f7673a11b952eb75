"""Part 6: the platform's monthly cost, shared by the published formula, on each council's
Billing page, with the year's true-up settled in Stripe beyond the tolerance."""

import datetime
from datetime import UTC
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from billing.actions.cost_statement import (
    import_cost_report,
    record_monthly_cost,
    set_cost_sharing_formula,
    settle_true_up,
)
from billing.actions.customers import create_customer
from billing.cost_models import PlatformCost, TrueUpOutcome, TrueUpSettlement
from billing.cost_statement import council_statement, months_of_year, statements_for
from billing.formats.aws_cost_report import CostFileRefused
from billing.models import BillingAccount, Invoice, Meter, UsageRecord
from tenants.audit.models import AuditEvent
from tenants.models import Council, CouncilRole, PlatformRole
from tests.conftest import host_client, make_member, sign_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LAST_YEAR = 2025  # the financial year 1 April 2025 to 31 March 2026, ended
MONTHS = [datetime.date(2025, 4, 1), datetime.date(2025, 5, 1)]
LEGACY_HEADER = (
    "identity/LineItemId,bill/BillingPeriodStartDate,lineItem/ProductCode,"
    "lineItem/UsageType,lineItem/CurrencyCode,lineItem/UnblendedCost\n"
)


def cur_file(*lines: str, header: str = LEGACY_HEADER) -> bytes:
    return (header + "".join(f"{line}\n" for line in lines)).encode()


@pytest.fixture
def two_councils_billed(price_book, council_a, council_b):
    """Both councils billed since 2025, with a month of usage each and invoices."""
    accounts = {}
    for council, population in ((council_a, 200_000), (council_b, 50_000)):
        Council.objects.filter(pk=council.pk).update(
            created=datetime.datetime(2025, 1, 1, tzinfo=UTC), status="active"
        )
        BillingAccount.objects.create(council=council, population=population)
        accounts[council.pk] = create_customer(council_id=council.pk)
    for month in MONTHS:
        for council, per_day in ((council_a, 300), (council_b, 100)):
            for day in range(1, 29):
                when = month.replace(day=day)
                UsageRecord.objects.create(
                    council=council, day=when, meter=Meter.TRANSACTIONS, quantity=per_day
                )
                UsageRecord.objects.create(
                    council=council, day=when, meter=Meter.STORED_BYTES, quantity=per_day * 10**6
                )
    return accounts


def _invoice(account, stripe_standin, *, gross, on, paid=True):
    created = int(datetime.datetime.combine(on, datetime.time(9), tzinfo=UTC).timestamp())
    made = stripe_standin.add_invoice(account.stripe_customer_id, amount_due=gross, created=created)
    if paid:
        stripe_standin.set_invoice_status(made["id"], "paid")
    return Invoice.objects.create(
        account=account,
        stripe_id=made["id"],
        number=made["number"],
        status="paid" if paid else "open",
        amount_due_pence=gross,
        amount_paid_pence=gross if paid else 0,
        stripe_created=created,
    )


def test_a_good_cost_report_is_summed_by_month_and_product_and_audited(db):
    content = cur_file(
        "l1,2025-04-01T00:00:00Z,AmazonRDS,db,GBP,100.004",
        "l2,2025-04-01T00:00:00Z,AmazonRDS,db,GBP,0.0049",
        "l3,2025-04-01T00:00:00Z,AmazonEC2,box,GBP,250.5",
        "l4,2025-05-01T00:00:00Z,AmazonEC2,box,GBP,260",
    )
    import_cost_report(content=content, filename="cur.csv", acting_user=None)
    assert {
        (cost.month, cost.category): cost.amount_pence for cost in PlatformCost.objects.all()
    } == {
        (MONTHS[0], "AmazonEC2"): 25_050,
        (MONTHS[0], "AmazonRDS"): 10_001,  # 100.0089, rounded once for the month
        (MONTHS[1], "AmazonEC2"): 26_000,
    }
    event = AuditEvent.objects.get(action="billing.cost_report_imported")
    assert event.after["costs"]["2025-04 AmazonRDS"] == [None, 10_001]


def test_the_cur2_column_names_are_read_too(db):
    header = "bill_billing_period_start_date,line_item_product_code,line_item_currency_code,line_item_unblended_cost\n"  # noqa: E501
    import_cost_report(
        content=cur_file("2025-04-01T00:00:00Z,AmazonS3,GBP,12.34", header=header),
        filename="cur2.csv",
        acting_user=None,
    )
    assert PlatformCost.objects.get().amount_pence == 1_234


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"Service,Cost\nEC2,10\n", "This is not an AWS Cost and Usage Report"),
        (
            cur_file("l1,2025-04-01,AmazonEC2,box,GBP,10", "l2,2025-04-01,AmazonEC2,box,GBP,-2.50"),
            "Line 3: the cost -2.50 is negative",
        ),
        (cur_file("l1,2025-04-01,AmazonEC2,box,USD,10"), "Line 2: the cost is in USD, not GBP"),
        (cur_file("l1,2025-04-01,AmazonEC2,box,GBP,ten"), "Line 2: the cost 'ten' is not a number"),
    ],
)
def test_a_bad_cost_report_is_refused_whole(db, content, message):
    with pytest.raises(CostFileRefused) as refused:
        import_cost_report(content=content, filename="bad.csv", acting_user=None)
    assert message in str(refused.value)
    assert not PlatformCost.objects.exists()
    assert not AuditEvent.objects.filter(action="billing.cost_report_imported").exists()


def test_the_operator_sees_why_a_file_was_refused_and_nothing_is_stored(db):
    operator = sign_in(host_client(None), UserFactory(platform_role=PlatformRole.OPERATOR))
    upload = SimpleUploadedFile("usd.csv", cur_file("l1,2025-04-01,AmazonEC2,box,USD,10"))
    page = operator.post("/console/billing/statement/costs/upload/", {"cost_file": upload})
    text = page.content.decode()
    assert page.status_code == 200
    assert "The file was not imported: nothing was saved" in text
    assert "the cost is in USD, not GBP (pounds)" in text
    assert not PlatformCost.objects.exists()


def test_a_cost_typed_in_replaces_the_month_category_audited_and_never_negative(db):
    record_monthly_cost(month=MONTHS[0], category="Compute", amount_pence=500, acting_user=None)
    record_monthly_cost(month=MONTHS[0], category="Compute", amount_pence=700, acting_user=None)
    assert PlatformCost.objects.get().amount_pence == 700
    changed = AuditEvent.objects.filter(action="billing.cost_recorded").order_by("pk").last()
    assert (changed.before, changed.after["amount_pence"]) == ({"amount_pence": 500}, 700)
    with pytest.raises(ValidationError):
        record_monthly_cost(month=MONTHS[0], category="Compute", amount_pence=-1, acting_user=None)


def test_shares_add_up_to_the_platform_cost_to_the_penny(two_councils_billed, council_a):
    record_monthly_cost(month=MONTHS[0], category="Compute", amount_pence=123_457, acting_user=None)
    record_monthly_cost(month=MONTHS[0], category="Database", amount_pence=54_321, acting_user=None)
    record_monthly_cost(month=MONTHS[1], category="Compute", amount_pence=99_999, acting_user=None)
    statements = statements_for(months_of_year(LAST_YEAR))
    assert [statement.total_pence for statement in statements] == [177_778, 99_999]
    for statement in statements:
        assert len(statement.councils) == 2
        assert statement.shares_total_pence == statement.total_pence
    # Council A has the bigger band (£900 against £500) and three times the transactions.
    april = statements[0]
    assert april.for_council(council_a).share_pence > april.total_pence // 2


def test_the_formula_is_effective_dated_published_and_never_backdated(two_councils_billed):
    this_month = timezone.localdate().replace(day=1)
    with pytest.raises(ValidationError):
        set_cost_sharing_formula(
            effective_from=MONTHS[0], fixed_percent=100, transactions_percent=0,
            storage_percent=0, tolerance_percent=Decimal(3), acting_user=None,
        )  # fmt: skip
    with pytest.raises(ValidationError) as refused:
        set_cost_sharing_formula(
            effective_from=this_month, fixed_percent=50, transactions_percent=40,
            storage_percent=20, tolerance_percent=Decimal(3), acting_user=None,
        )  # fmt: skip
    assert refused.value.messages == [
        "The three weights must be whole percentages adding up to 100"
    ]
    operator = sign_in(host_client(None), UserFactory(platform_role=PlatformRole.OPERATOR))
    answer = operator.post(
        "/console/billing/statement/formula/",
        {"effective_from": this_month.isoformat(), "fixed_percent": "20",
         "transactions_percent": "70", "storage_percent": "10", "tolerance_percent": "5"},
    )  # fmt: skip
    assert answer.status_code == 302
    assert AuditEvent.objects.filter(action="billing.cost_formula_set").count() == 1
    page = operator.get("/console/billing/statement/").content.decode()
    assert "20% as a fixed share by population band" in page
    assert "70% by transactions" in page
    # Last year's months keep the formula they were shared by (the default).
    record_monthly_cost(month=MONTHS[0], category="Compute", amount_pence=1_000, acting_user=None)
    [april] = statements_for(months_of_year(LAST_YEAR))
    assert (april.formula.fixed_percent, april.formula.transactions_percent) == (40, 40)
    support = sign_in(host_client(None), UserFactory(platform_role=PlatformRole.SUPPORT))
    assert support.post("/console/billing/statement/formula/", {}).status_code == 403


def test_each_council_sees_its_own_statement_and_never_anothers(
    two_councils_billed, council_a, council_b, stripe_standin
):
    record_monthly_cost(month=MONTHS[0], category="Compute", amount_pence=100_000, acting_user=None)
    _invoice(two_councils_billed[council_a.pk], stripe_standin, gross=73_200, on=MONTHS[0])
    statement_a = council_statement(council_a, LAST_YEAR)
    statement_b = council_statement(council_b, LAST_YEAR)
    assert statement_a.share_pence + statement_b.share_pence == 100_000
    assert statement_a.invoiced_pence == 61_000  # £732 with VAT is £610 before it
    admin_a = sign_in(host_client(council_a), make_member(council_a, CouncilRole.ADMIN))
    page_a = admin_a.get(f"/billing/?year={LAST_YEAR}").content.decode()
    assert "Cost-sharing statement 2025-26" in page_a
    assert f"£{statement_a.share_pence / 100:,.2f}" in page_a
    assert "£1,000.00" in page_a  # the platform's total
    assert "£610.00" in page_a
    assert 'id="cost-per-transaction"' in page_a and "Cost per transaction by month" in page_a
    admin_b = sign_in(host_client(council_b), make_member(council_b, CouncilRole.ADMIN))
    page_b = admin_b.get(f"/billing/?year={LAST_YEAR}").content.decode()
    assert f"£{statement_b.share_pence / 100:,.2f}" in page_b
    assert f"£{statement_a.share_pence / 100:,.2f}" not in page_b
    assert council_a.name not in page_b and "£610.00" not in page_b
    assert "8400" not in page_b  # A's transactions that month (28 days of 300)


def test_the_operator_sees_every_councils_share(two_councils_billed, council_a, council_b):
    record_monthly_cost(month=MONTHS[0], category="Compute", amount_pence=100_000, acting_user=None)
    support = sign_in(host_client(None), UserFactory(platform_role=PlatformRole.SUPPORT))
    page = support.get(f"/console/billing/statement/?year={LAST_YEAR}").content.decode()
    assert council_a.name in page and council_b.name in page
    assert "April 2025: £1,000.00" in page
    assert "/statement/settle/" not in page  # support looks, never settles


def test_an_overpayment_beyond_the_tolerance_comes_back_as_a_credit_note(
    two_councils_billed, council_a, stripe_standin
):
    record_monthly_cost(month=MONTHS[0], category="Compute", amount_pence=100_000, acting_user=None)
    account = two_councils_billed[council_a.pk]
    share = council_statement(council_a, LAST_YEAR).share_pence
    paid_net = share + 10_000  # paid £100 more than its share, far beyond 3%
    invoice = _invoice(account, stripe_standin, gross=paid_net * 6 // 5, on=MONTHS[1])
    operator = sign_in(host_client(None), UserFactory(platform_role=PlatformRole.OPERATOR))
    answer = operator.post(f"/console/billing/statement/settle/{council_a.pk}/{LAST_YEAR}/")
    assert answer.status_code == 302
    settlement = TrueUpSettlement.objects.get(council=council_a, year=LAST_YEAR)
    assert settlement.outcome == TrueUpOutcome.CREDIT_NOTE
    assert (settlement.paid_pence, settlement.share_pence) == (paid_net, share)
    [note] = stripe_standin.of_type("credit_note")
    assert (note["id"], note["invoice"]) == (settlement.stripe_id, invoice.stripe_id)
    assert (note["subtotal"], note["total"]) == (10_000, 12_000)  # with its VAT
    assert stripe_standin.objects[account.stripe_customer_id]["balance"] == -12_000
    # Pressing again settles nothing twice.
    operator.post(f"/console/billing/statement/settle/{council_a.pk}/{LAST_YEAR}/")
    assert len(stripe_standin.of_type("credit_note")) == 1
    assert AuditEvent.objects.filter(action="billing.true_up_settled").count() == 1
    admin_a = sign_in(host_client(council_a), make_member(council_a, CouncilRole.ADMIN))
    assert (
        "Credit note (paid more than its share)"
        in admin_a.get(f"/billing/?year={LAST_YEAR}").content.decode()
    )


def test_an_underpayment_beyond_the_tolerance_goes_on_the_next_invoice(
    two_councils_billed, council_b, stripe_standin
):
    record_monthly_cost(month=MONTHS[0], category="Compute", amount_pence=100_000, acting_user=None)
    share = council_statement(council_b, LAST_YEAR).share_pence
    _invoice(two_councils_billed[council_b.pk], stripe_standin, gross=12_000, on=MONTHS[0])
    settlement = settle_true_up(council=council_b, year=LAST_YEAR, acting_user=None)
    assert settlement.outcome == TrueUpOutcome.INVOICE_ITEM
    [item] = stripe_standin.of_type("invoiceitem")
    assert item["amount"] == share - 10_000 and item["invoice"] is None
    assert item["customer"] == two_councils_billed[council_b.pk].stripe_customer_id
    assert [rate["percentage"] for rate in item["tax_rates"]] == [20.0]


def test_within_the_tolerance_nothing_is_sent_to_stripe(
    two_councils_billed, council_a, stripe_standin
):
    record_monthly_cost(month=MONTHS[0], category="Compute", amount_pence=100_000, acting_user=None)
    share = council_statement(council_a, LAST_YEAR).share_pence
    paid_net = share + share * 2 // 100  # 2% over, inside the default 3%
    _invoice(
        two_councils_billed[council_a.pk], stripe_standin, gross=paid_net * 6 // 5, on=MONTHS[0]
    )
    settlement = settle_true_up(council=council_a, year=LAST_YEAR, acting_user=None)
    assert (settlement.outcome, settlement.stripe_id) == (TrueUpOutcome.WITHIN_TOLERANCE, "")
    assert not stripe_standin.of_type("credit_note") and not stripe_standin.of_type("invoiceitem")


def test_a_year_not_yet_ended_is_not_settled(two_councils_billed, council_a):
    this_year = (
        timezone.localdate().year
        if timezone.localdate().month >= 4
        else timezone.localdate().year - 1
    )
    with pytest.raises(ValidationError):
        settle_true_up(council=council_a, year=this_year, acting_user=None)
