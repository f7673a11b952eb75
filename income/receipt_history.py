"""Everything that happened to one receipt, in order: journals, refunds and audit records."""

from dataclasses import dataclass

from income.balances import receipt_allocation
from income.models import Fund, Journal, Receipt
from tenants.audit.models import AuditEvent


@dataclass(frozen=True)
class HeldAmount:
    label: str
    pence: int


def held_amounts(receipt: Receipt) -> list[HeldAmount]:
    held = receipt_allocation(receipt)
    funds = Fund.objects.in_bulk([fund_id for fund_id in held if fund_id])
    return [
        HeldAmount(str(funds[fund_id]) if fund_id else "Suspense", pence)
        for fund_id, pence in sorted(held.items(), key=lambda item: (item[0] is None, item[0]))
    ]


def receipt_journals(receipt: Receipt) -> list[Journal]:
    return list(
        Journal.objects.filter(postings__receipt=receipt)
        .distinct()
        .order_by("created_at", "id")
        .prefetch_related("postings__account")
    )


def receipt_audit_events(receipt: Receipt) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(target_type="income.Receipt", target_id=str(receipt.pk)).order_by(
            "occurred_at", "id"
        )
    )
