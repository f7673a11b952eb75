"""Overdue invoices, without hurting citizens: who is told, when, and what the operator sees.

An invoice is overdue when Stripe said so (`invoice.overdue`) or when it is still open past its
due date. Its council's admins and finance managers see a banner; its billing contact and
admins are reminded at 7, 30 and 60 days, each stage once; at 60 days the council is on the
operator's worklist. Suspending it stays the operator's decision (tenants.actions.lifecycle),
and a suspension never stops GOV.UK Pay's webhooks or the portal's refusal page.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from billing.models import Invoice, OverdueReminder
from income.money import format_pounds
from tenants.actions.councils import council_host
from tenants.audit.recording import record_audit, record_audit_in
from tenants.models import Council, CouncilRole, Membership
from tenants.models.council import CouncilStatus

REMINDER_STAGES = (7, 30, 60)
# At this many days overdue the council is on the operator's worklist for suspension.
WORKLIST_DAYS = 60


def _start_of(day: date) -> int:
    return int(datetime.combine(day, time(), tzinfo=UTC).timestamp())


def overdue_invoices(today: date | None = None) -> QuerySet[Invoice]:
    """Every open invoice Stripe called overdue, or whose due date has passed."""
    today = today or timezone.localdate()
    return Invoice.objects.filter(status="open").filter(
        Q(overdue=True) | Q(due_date__lt=_start_of(today))
    )


def days_overdue(invoice: Invoice, today: date | None = None) -> int:
    """Whole days since the due date (0 when Stripe said overdue before a day had passed)."""
    today = today or timezone.localdate()
    if invoice.due_date is None:
        return 0
    due = datetime.fromtimestamp(invoice.due_date, UTC).date()
    return max(0, (today - due).days)


@dataclass(frozen=True)
class OverdueInvoice:
    invoice: Invoice
    days: int

    @property
    def on_worklist(self) -> bool:
        return self.days >= WORKLIST_DAYS


def council_overdue(council: Council, today: date | None = None) -> list[OverdueInvoice]:
    """The council's overdue invoices, the longest overdue first (for its banner)."""
    invoices = overdue_invoices(today).filter(account__council=council).order_by("due_date")
    return [OverdueInvoice(invoice, days_overdue(invoice, today)) for invoice in invoices]


@dataclass(frozen=True)
class WorklistRow:
    council: Council
    invoices: list[OverdueInvoice]

    @property
    def longest(self) -> int:
        return max(row.days for row in self.invoices)

    @property
    def amount_due_pence(self) -> int:
        return sum(row.invoice.amount_due_pence for row in self.invoices)

    @property
    def amount_due_display(self) -> str:
        return format_pounds(self.amount_due_pence)

    @property
    def consider_suspending(self) -> bool:
        return self.longest >= WORKLIST_DAYS and self.council.status == CouncilStatus.ACTIVE


def overdue_by_council(today: date | None = None) -> list[WorklistRow]:
    """Every council with an overdue invoice, the longest overdue first (one query)."""
    by_council: dict[int, WorklistRow] = {}
    for invoice in overdue_invoices(today).select_related("account__council"):
        council = invoice.account.council
        row = by_council.setdefault(council.pk, WorklistRow(council, []))
        row.invoices.append(OverdueInvoice(invoice, days_overdue(invoice, today)))
    return sorted(by_council.values(), key=lambda row: (-row.longest, row.council.name))


def suspension_worklist(today: date | None = None) -> list[WorklistRow]:
    """Councils with an invoice at least 60 days overdue: for the operator to consider."""
    return [row for row in overdue_by_council(today) if row.longest >= WORKLIST_DAYS]


def reminder_recipients(invoice: Invoice) -> list[str]:
    """The council's billing contact and its admins, each once."""
    admins = Membership.objects.filter(
        council_id=invoice.account.council_id, role=CouncilRole.ADMIN, user__is_active=True
    ).values_list("user__email", flat=True)
    addresses = [invoice.account.contact_email, *sorted(admins)]
    return list(dict.fromkeys(address for address in addresses if address))


def due_stage(days: int) -> int | None:
    """The latest reminder stage `days` overdue has reached: a reminder missed (the platform
    was down that day) is overtaken by the next, never sent late beside it."""
    reached = [stage for stage in REMINDER_STAGES if days >= stage]
    return reached[-1] if reached else None


def send_overdue_reminders(council: Council, today: date | None = None) -> list[OverdueReminder]:
    """Remind the council about each overdue invoice that has reached a stage not yet sent."""
    sent = []
    for row in council_overdue(council, today):
        stage = due_stage(row.days)
        if stage is None or row.invoice.reminders.filter(stage__gte=stage).exists():
            continue
        reminder = _remind(row.invoice, stage, row.days)
        if reminder is not None:
            sent.append(reminder)
    return sent


def _remind(invoice: Invoice, stage: int, days: int) -> OverdueReminder | None:
    recipients = reminder_recipients(invoice)
    council = invoice.account.council
    try:
        with transaction.atomic():
            # The row first: a second run at the same time fails here and sends nothing.
            reminder = OverdueReminder.objects.create(
                invoice=invoice, stage=stage, recipients=recipients
            )
            details: dict[str, Any] = {
                "acting_user": None,
                "target": invoice,
                "after": {"stage": stage, "days_overdue": days, "recipients": recipients},
            }
            record_audit("billing.overdue_reminder_sent", **details)
            record_audit_in(council.schema_name, "billing.overdue_reminder_sent", **details)
            if recipients:
                send_mail(
                    subject=reminder_subject(invoice, stage),
                    message=_reminder_body(invoice, council, days),
                    from_email=None,
                    recipient_list=recipients,
                )
    except IntegrityError:
        return None
    return reminder


def reminder_subject(invoice: Invoice, stage: int) -> str:
    return f"Counterfoil: invoice {invoice} is {stage} days overdue"


def _reminder_body(invoice: Invoice, council: Council, days: int) -> str:
    due = (
        datetime.fromtimestamp(invoice.due_date, UTC).date().strftime("%-d %B %Y")
        if invoice.due_date
        else "its due date"
    )
    lines = [
        f"Invoice {invoice} to {council.name} for {invoice.amount_due_display} was due on "
        f"{due} and is now {days} days overdue.",
        "",
        "Please pay it by bank transfer to the account shown on the invoice, quoting its number.",
    ]
    if invoice.hosted_invoice_url:
        lines += ["", f"View and pay the invoice: {invoice.hosted_invoice_url}"]
    lines += [
        "",
        f"Every invoice is on your Billing page: https://{council_host(council.slug)}/billing/",
        "",
        "Your citizens' payments are not affected: the payment portal and GOV.UK Pay carry on.",
    ]
    if days >= WORKLIST_DAYS:
        lines += [
            "",
            "An invoice this late is passed to the platform's operators, who may suspend the "
            "council's staff access (read-only) until it is paid.",
        ]
    return "\n".join(lines) + "\n"
