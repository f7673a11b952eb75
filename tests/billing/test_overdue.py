"""Part 5: an overdue invoice is shown to the council's admins and finance managers and to the
operators, reminded at 7, 30 and 60 days (each once), and at 60 days put on the operator's
worklist; suspending stays the operator's decision."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_tenants.utils import schema_context

from billing.actions.overdue import send_overdue_reminders, suspension_worklist
from billing.models import BillingAccount, Invoice, OverdueReminder
from tenants.audit.models import AuditEvent
from tenants.models import CouncilRole, Membership, PlatformRole
from tests.conftest import host_client, make_member, sign_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()
BANNER = "An invoice to Northbrook Test Council is overdue"


def due_days_ago(days: int) -> int:
    return int(datetime.combine(TODAY - timedelta(days=days), time(), tzinfo=UTC).timestamp())


@pytest.fixture
def account_a(council_a):
    return BillingAccount.objects.create(
        council=council_a, stripe_customer_id="cus_north", contact_email="payables@north.example"
    )


def open_invoice(account, *, days_overdue: int, flagged: bool = False, number: str = "CF-0001"):
    return Invoice.objects.create(
        account=account,
        stripe_id=f"in_{number}",
        number=number,
        status="open",
        overdue=flagged,
        amount_due_pence=60_000,
        due_date=due_days_ago(days_overdue),
        hosted_invoice_url=f"https://invoice.stripe.com/i/in_{number}",
    )


@pytest.mark.parametrize(
    ("role", "sees"),
    [
        (CouncilRole.ADMIN, True),
        (CouncilRole.FINANCE_MANAGER, True),
        (CouncilRole.INCOME_OFFICER, False),
        (CouncilRole.AUDITOR, False),
    ],
)
def test_the_banner_shows_to_admins_and_finance_managers_only(account_a, council_a, role, sees):
    client = sign_in(host_client(council_a), make_member(council_a, role))
    assert BANNER not in client.get("/").content.decode()

    open_invoice(account_a, days_overdue=3)
    page = client.get("/").content.decode()

    assert (BANNER in page) is sees
    if sees:
        assert "Invoice CF-0001 for £600.00, 3 days overdue" in page
        assert "Payments from citizens are not affected." in page


def test_stripes_overdue_event_shows_the_banner_before_a_day_has_passed(account_a, council_a):
    open_invoice(account_a, days_overdue=-2)  # due in two days: nothing yet
    client = sign_in(host_client(council_a), make_member(council_a, CouncilRole.ADMIN))
    assert BANNER not in client.get("/receipts/").content.decode()

    Invoice.objects.update(overdue=True)  # as invoice.overdue applies it
    page = client.get("/receipts/").content.decode()
    assert BANNER in page
    assert 'href="/billing/"' in page


def test_a_paid_invoice_shows_no_banner(account_a, council_a):
    open_invoice(account_a, days_overdue=40, flagged=True)
    Invoice.objects.update(status="paid", overdue=False)
    client = sign_in(host_client(council_a), make_member(council_a, CouncilRole.ADMIN))
    assert BANNER not in client.get("/").content.decode()


def test_other_councils_never_see_the_banner(account_a, council_a, council_b):
    open_invoice(account_a, days_overdue=70, flagged=True)
    admin_b = sign_in(host_client(council_b), make_member(council_b, CouncilRole.ADMIN))
    for path in ("/", "/billing/", "/team/"):
        page = admin_b.get(path).content.decode()
        assert "overdue" not in page.lower() and "CF-0001" not in page
    # Someone at both councils sees A's banner only on A's host.
    shared = make_member(council_a, CouncilRole.ADMIN)
    Membership.objects.create(user=shared, council=council_b, role=CouncilRole.ADMIN)
    assert BANNER in sign_in(host_client(council_a), shared).get("/").content.decode()
    assert BANNER not in sign_in(host_client(council_b), shared).get("/").content.decode()


def test_reminders_at_7_30_and_60_days_each_once(account_a, council_a):
    admin = make_member(council_a, CouncilRole.ADMIN, email="admin@north.example")
    make_member(council_a, CouncilRole.FINANCE_MANAGER, email="manager@north.example")
    invoice = open_invoice(account_a, days_overdue=0)
    due = TODAY

    sent_on = {}
    for offset in range(0, 75):
        for reminder in send_overdue_reminders(council_a, today=due + timedelta(days=offset)):
            sent_on[reminder.stage] = offset
    # And again on the last day: nothing more.
    assert send_overdue_reminders(council_a, today=due + timedelta(days=74)) == []

    assert sent_on == {7: 7, 30: 30, 60: 60}
    assert list(invoice.reminders.order_by("stage").values_list("stage", flat=True)) == [7, 30, 60]
    assert [message.subject for message in mail.outbox] == [
        "Counterfoil: invoice CF-0001 is 7 days overdue",
        "Counterfoil: invoice CF-0001 is 30 days overdue",
        "Counterfoil: invoice CF-0001 is 60 days overdue",
    ]
    # The billing contact and the admins, never the finance manager's own inbox.
    assert {tuple(message.to) for message in mail.outbox} == {
        ("payables@north.example", admin.email)
    }
    assert "£600.00" in mail.outbox[0].body
    assert "https://invoice.stripe.com/i/in_CF-0001" in mail.outbox[0].body
    assert "may suspend" in mail.outbox[2].body and "may suspend" not in mail.outbox[1].body
    audited = AuditEvent.objects.filter(action="billing.overdue_reminder_sent")
    assert [event.after["stage"] for event in audited.order_by("pk")] == [7, 30, 60]
    with schema_context(council_a.schema_name):
        assert AuditEvent.objects.filter(action="billing.overdue_reminder_sent").count() == 3


def test_a_missed_stage_is_overtaken_not_sent_late(account_a, council_a):
    open_invoice(account_a, days_overdue=35)
    [reminder] = send_overdue_reminders(council_a, today=TODAY)
    assert reminder.stage == 30
    assert send_overdue_reminders(council_a, today=TODAY + timedelta(days=1)) == []
    assert len(mail.outbox) == 1


def test_one_reminder_per_invoice_and_stage_in_the_database(account_a, council_a):
    invoice = open_invoice(account_a, days_overdue=8)
    send_overdue_reminders(council_a, today=TODAY)
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        OverdueReminder.objects.create(invoice=invoice, stage=7)


def test_paid_and_other_councils_invoices_are_not_reminded(account_a, council_a, council_b):
    paid = open_invoice(account_a, days_overdue=10, number="CF-PAID")
    Invoice.objects.filter(pk=paid.pk).update(status="paid")
    account_b = BillingAccount.objects.create(council=council_b, contact_email="b@south.example")
    open_invoice(account_b, days_overdue=10, number="CF-SOUTH")

    assert send_overdue_reminders(council_a, today=TODAY) == []
    [reminder] = send_overdue_reminders(council_b, today=TODAY)
    assert reminder.invoice.number == "CF-SOUTH"
    assert [message.to for message in mail.outbox] == [["b@south.example"]]


def test_the_daily_task_runs_in_each_councils_schema(account_a, council_a):
    from billing.tasks import overdue_reminders_daily

    open_invoice(account_a, days_overdue=7)
    with schema_context(council_a.schema_name):
        assert overdue_reminders_daily.apply().get() == 1
        assert overdue_reminders_daily.apply().get() == 0
    assert len(mail.outbox) == 1


def test_a_reminder_goes_through_gov_uk_notify_with_its_own_kind(account_a, council_a):
    from counterfoil.notify.messages import outgoing_emails
    from counterfoil.tasks import send_email_through_notify
    from tests.standins.notify_server import notify_server

    open_invoice(account_a, days_overdue=30)
    send_overdue_reminders(council_a, today=TODAY)
    [message] = mail.outbox
    [email] = outgoing_emails(message)
    assert email.kind == "invoice_overdue"

    from django.test import override_settings

    with notify_server() as notify:
        template = notify.add_template()
        with override_settings(
            NOTIFY_API_KEY=notify.add_service(),
            NOTIFY_BASE_URL=notify.url,
            NOTIFY_TEMPLATE_IDS={"default": template.id},
            NOTIFY_REPLY_TO_ID="",
        ):
            send_email_through_notify.apply(args=[email.as_task_argument()]).get()
        [sent] = notify.sent_to("payables@north.example")
    assert sent.personalisation["subject"] == "Counterfoil: invoice CF-0001 is 30 days overdue"
    assert "30 days overdue" in sent.personalisation["body"]


def operator_client():
    return sign_in(host_client(None), UserFactory(platform_role=PlatformRole.OPERATOR))


def test_the_console_shows_overdue_councils_and_the_60_day_worklist(account_a, council_a):
    console = operator_client()
    assert "billing-overdue-worklist" not in console.get("/console/").content.decode()

    open_invoice(account_a, days_overdue=20)
    home = console.get("/console/").content.decode()
    assert "billing-overdue-worklist" in home and "Northbrook Test Council" in home
    assert "20 days" in home and "Consider suspending" not in home
    assert suspension_worklist(TODAY) == []

    Invoice.objects.update(due_date=due_days_ago(61))
    [row] = suspension_worklist(TODAY)
    assert (row.council, row.longest, row.consider_suspending) == (council_a, 61, True)
    for path in ("/console/", "/console/billing/"):
        page = console.get(path).content.decode()
        assert "Consider suspending" in page and "61 days" in page and "£600.00" in page
    accounts = console.get("/console/billing/").content.decode()
    assert '<strong class="govuk-tag govuk-tag--red">1</strong>' in accounts  # its Overdue column
    detail = console.get(f"/console/councils/{council_a.pk}/").content.decode()
    assert "CF-0001 (£600.00, 61 days overdue)" in detail and "Consider suspending" in detail
    support = sign_in(host_client(None), UserFactory(platform_role=PlatformRole.SUPPORT))
    assert "Consider suspending" in support.get("/console/billing/").content.decode()


def test_suspension_stays_the_operators_decision_through_the_lifecycle_action(account_a, council_a):
    open_invoice(account_a, days_overdue=65, flagged=True)
    send_overdue_reminders(council_a, today=TODAY)
    council_a.refresh_from_db()
    assert council_a.status == "active"  # nothing suspends a council by itself

    answer = operator_client().post(
        f"/console/councils/{council_a.pk}/suspend/",
        {"suspend-reason": "Invoice CF-0001 unpaid for 65 days"},
    )
    assert answer.status_code == 302
    council_a.refresh_from_db()
    assert council_a.status == "suspended"
    event = AuditEvent.objects.get(action="council.suspended")
    assert event.reason == "Invoice CF-0001 unpaid for 65 days"
    [row] = suspension_worklist(TODAY)
    assert not row.consider_suspending  # on the list still, but already decided

    # Its admin still sees the invoices to pay, and the reason.
    admin = sign_in(host_client(council_a), make_member(council_a, CouncilRole.ADMIN))
    billing = admin.get("/billing/")
    assert billing.status_code == 200
    text = billing.content.decode()
    assert "CF-0001" in text and "Invoice CF-0001 unpaid for 65 days" in text
