"""What every new council starts with: standard VAT codes, the methods of payment, the ledger's
system accounts and refund approval limits. Idempotent; run in the council's schema."""

from income.accounts import SYSTEM_ACCOUNTS, bank_account, clearing_account, system_account
from income.models import Channel, ChannelKind, RefundApprovalLimit, VatCode
from tenants.models import CouncilRole

STANDARD_VAT_CODES = (
    ("W0", "Standard rate", 2000),
    ("N0", "Outside the scope of VAT", 0),
    ("E0", "Exempt", 0),
    ("M0", "Zero-rated", 0),
)

STANDARD_CHANNELS = (
    ("CASH", "Cash", ChannelKind.CASH, True),
    ("CHEQUE", "Cheque", ChannelKind.CHEQUE, True),
    ("CARD", "Card (GOV.UK Pay)", ChannelKind.CARD, False),
    ("ALLPAY-PO", "allpay Post Office", ChannelKind.ALLPAY_POST_OFFICE, False),
    ("ALLPAY-PP", "allpay PayPoint", ChannelKind.ALLPAY_PAYPOINT, False),
    ("BANK", "Bank transfer", ChannelKind.BANK_TRANSFER, False),
    ("DD", "Direct Debit", ChannelKind.DIRECT_DEBIT, False),
    ("JOURNAL", "Journal", ChannelKind.JOURNAL, False),
    ("TRANSFER", "Transfer", ChannelKind.TRANSFER, False),
)

# Finance managers approve refunds up to £1,000; admins without limit. Councils change these.
STANDARD_REFUND_LIMITS = ((CouncilRole.FINANCE_MANAGER, 100_000), (CouncilRole.ADMIN, None))


def seed_income_defaults() -> None:
    for code, name, rate in STANDARD_VAT_CODES:
        VatCode.objects.get_or_create(code=code, defaults={"name": name, "rate_basis_points": rate})
    for code, name, kind, taken_by_staff in STANDARD_CHANNELS:
        channel, _ = Channel.objects.get_or_create(
            code=code, defaults={"name": name, "kind": kind, "taken_by_staff": taken_by_staff}
        )
        clearing_account(channel)
    for kind in SYSTEM_ACCOUNTS:
        system_account(kind)
    bank_account()
    for role, limit in STANDARD_REFUND_LIMITS:
        RefundApprovalLimit.objects.get_or_create(role=role, defaults={"max_amount_pence": limit})
