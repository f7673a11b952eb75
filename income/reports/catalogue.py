"""Every report, by the name in its address."""

from collections.abc import Callable
from dataclasses import dataclass

from income.reports.aged_suspense import aged_suspense
from income.reports.audit_trail import audit_trail
from income.reports.cash_up_variances import cash_up_variances
from income.reports.imports import imports_report
from income.reports.refunds import refunds_report
from income.reports.report import Period, Report
from income.reports.takings import (
    takings_by_channel,
    takings_by_fund,
    takings_by_till,
    takings_by_user,
)
from income.reports.vat import vat_collected


@dataclass(frozen=True)
class ReportKind:
    slug: str
    title: str
    summary: str
    build: Callable[..., Report]
    # Narrowed by a receipt number or a person as well as the period.
    narrows: bool = False
    # Lists rows one by one (rather than totals), so reads at most `limit` for the screen.
    lists: bool = False

    def run(
        self,
        period: Period,
        *,
        receipt_number: str = "",
        person: str = "",
        limit: int | None = None,
    ) -> Report:
        options = {"limit": limit} if self.lists else {}
        if self.narrows:
            options.update(receipt_number=receipt_number, person=person)
        return self.build(period, **options)


REPORTS = {
    kind.slug: kind
    for kind in (
        ReportKind("takings-by-fund", "Daily takings by fund",
                   "Money booked to each fund each day, net of refunds and transfers.",
                   takings_by_fund),
        ReportKind("takings-by-channel", "Daily takings by channel",
                   "Receipts received each day by each channel.", takings_by_channel),
        ReportKind("takings-by-user", "Daily takings by user",
                   "Receipts received each day by the person who recorded them.",
                   takings_by_user),
        ReportKind("takings-by-till", "Daily takings by till",
                   "Each till's cash-up: what its receipts took and what was counted.",
                   takings_by_till, lists=True),
        ReportKind("vat", "VAT collected", "VAT within the money funds received, by VAT code.",
                   vat_collected),
        ReportKind("aged-suspense", "Aged suspense",
                   "Money still in suspense at the end of the period, by age.", aged_suspense,
                   lists=True),
        ReportKind("refunds", "Refunds raised, approved and paid",
                   "Refunds asked for, and the money the ledger moved for them.", refunds_report,
                   lists=True),
        ReportKind("cash-up-variances", "Cash-up variances",
                   "Each cash-up's count against its takings, over and short.",
                   cash_up_variances, lists=True),
        ReportKind("imports", "Imports and their rejected lines",
                   "Payment files imported, what they brought in and every line refused.",
                   imports_report, lists=True),
        ReportKind("audit-trail", "Audit trail",
                   "Who did what and when: for a receipt, a person or a day.", audit_trail,
                   narrows=True, lists=True),
    )
}  # fmt: skip
