"""The audit trail for a receipt, a person or a day: the council's audit records in the
period, narrowed to one receipt (its own records and those of its refunds) or one person."""

from django.db.models import Q
from django.utils import timezone

from income.models import Receipt
from income.reports.report import Column, Kind, Period, Report, ReportTable, limited
from tenants.audit.models import AuditEvent


def audit_trail(
    period: Period, *, receipt_number: str = "", person: str = "", limit: int | None = None
) -> Report:
    since, before = period.moments()
    events = AuditEvent.objects.filter(occurred_at__gte=since, occurred_at__lt=before)
    notes = []
    if receipt_number:
        receipt = Receipt.objects.filter(number=receipt_number.strip()).first()
        if receipt is None:
            events = events.none()
            notes.append(f"No receipt is numbered {receipt_number.strip()}.")
        else:
            refund_ids = [str(pk) for pk in receipt.refunds.values_list("pk", flat=True)]
            events = events.filter(
                Q(target_type="income.Receipt", target_id=str(receipt.pk))
                | Q(target_type="income.Refund", target_id__in=refund_ids)
            )
    if person:
        events = events.filter(actor_email__iexact=person.strip())
    found = events.order_by("occurred_at", "id").values_list(
        "occurred_at", "actor_email", "action", "target_label", "reason"
    )
    found, cut_short = limited(list(found[: limit + 1] if limit else found), limit)
    rows = [
        (timezone.localtime(when), who or "System", action, label, reason)
        for when, who, action, label, reason in found
    ]
    table = ReportTable(
        "Audit records, oldest first",
        [Column("When", Kind.TIME), Column("Who"), Column("What"), Column("On"),
         Column("Reason")],
        rows,
        None,
        empty_text="No audit records match.",
        cut_short=cut_short,
    )  # fmt: skip
    return Report("Audit trail", period, [table], None, notes)
