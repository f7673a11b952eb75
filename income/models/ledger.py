"""The double-entry ledger: accounts, journals and their postings, in integer pence.

A posting's amount is positive for a debit and negative for a credit; every journal's postings
sum to zero. Journals and postings are append-only (database triggers refuse UPDATE and DELETE,
and a statement-level trigger refuses an unbalanced journal: migration 0003); a mistake is
corrected by a reversing journal.
"""

from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.db.models.functions import Coalesce

from income.models.channel import Channel
from income.models.database_defaults import CurrentTransactionId, TodayInLondon
from income.models.fund import Fund
from income.models.reference_rule import ReferenceRule


class AccountKind(models.TextChoices):
    FUND = "fund", "Fund"
    SUSPENSE = "suspense", "Suspense"
    CLEARING = "clearing", "Clearing"
    REFUNDS_PAYABLE = "refunds_payable", "Refunds payable"
    FEES = "fees", "Fees"
    CASH_VARIANCE = "cash_variance", "Cash over and short"
    # Money that left the bank by a debit no receipt explains, until someone says what it was.
    UNEXPLAINED_DEBITS = "unexplained_debits", "Unexplained debits"


# Kinds with exactly one account each.
SYSTEM_KINDS = ["suspense", "refunds_payable", "fees", "cash_variance", "unexplained_debits"]


class Account(models.Model):
    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=AccountKind.choices)
    fund = models.OneToOneField(
        Fund, null=True, blank=True, on_delete=models.PROTECT, related_name="account"
    )
    channel = models.OneToOneField(
        Channel, null=True, blank=True, on_delete=models.PROTECT, related_name="clearing_account"
    )

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="fund", fund__isnull=False)
                | ~models.Q(kind="fund") & models.Q(fund__isnull=True),
                name="fund_accounts_name_their_fund",
            ),
            models.UniqueConstraint(
                fields=["kind"],
                condition=models.Q(kind__in=SYSTEM_KINDS),
                name="one_account_per_system_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class JournalKind(models.TextChoices):
    RECEIPT = "receipt", "Receipt"
    SUSPENSE_ALLOCATION = "suspense_allocation", "Allocation from suspense"
    TRANSFER = "transfer", "Transfer between funds"
    REFUND = "refund", "Refund"
    REFUND_PAID = "refund_paid", "Refund paid"
    CASH_UP = "cash_up", "Cash-up"
    PROVIDER_FEE = "provider_fee", "Payment provider fee"
    REVERSAL = "reversal", "Reversal"
    UNEXPLAINED_DEBIT = "unexplained_debit", "Unexplained debit explained"


class Journal(models.Model):
    kind = models.CharField(max_length=30, choices=JournalKind.choices)
    description = models.CharField(max_length=300)
    # No index: journals are found through their postings, never listed by date.
    created_at = models.DateTimeField(auto_now_add=True)
    # The person, kept as plain values: the ledger outlives changes to accounts of people.
    created_by_id = models.BigIntegerField(null=True, blank=True)
    created_by_email = models.CharField(max_length=254, blank=True)
    # A journal is reversed at most once (the partial unique index below: nearly every
    # journal reverses nothing, and an index of all of them would hold a million NULLs for a
    # million-line import).
    # Checked by a trigger on the journals that reverse one (migration 0037), not a deferred
    # foreign key, which would queue a check at commit for every journal an import writes.
    reverses = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by",
        db_index=False, db_constraint=False,
    )  # fmt: skip

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["reverses"],
                condition=models.Q(reverses__isnull=False),
                name="a_journal_is_reversed_at_most_once",
            ),
        ]

    def __str__(self) -> str:
        return f"J{self.pk} {self.get_kind_display()}: {self.description}"


class Posting(models.Model):
    # The three references are checked by a statement-level trigger (migration 0017), not by
    # foreign-key constraints: a constraint checks row by row at commit, some six million
    # checks for a million-line import, where the trigger checks each statement's postings
    # in one set-wise pass. The rows they name can never be deleted (journals are
    # append-only; triggers refuse DELETE of receipts and accounts).
    # No index of their own: the indexes below lead with each of them.
    journal = models.ForeignKey(
        Journal, on_delete=models.PROTECT, related_name="postings", db_constraint=False,
        db_index=False,
    )  # fmt: skip
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="postings", db_constraint=False,
        db_index=False,
    )  # fmt: skip
    amount_pence = models.BigIntegerField()
    # The receipt this money belongs to, so a receipt's allocation is read from the ledger.
    receipt = models.ForeignKey(
        "income.Receipt", null=True, blank=True, on_delete=models.PROTECT, related_name="postings",
        db_constraint=False, db_index=False,
    )  # fmt: skip
    # The day the posting counts in the books: a receipt's own journal is booked on the day
    # the money was received, every later movement (allocation, transfer, refund, reversal) on
    # the day it was written.
    booked_on = models.DateField(db_default=TodayInLondon())
    # PostgreSQL's 64-bit id of the transaction that wrote the posting. Exports take the
    # postings whose transactions committed between two snapshots (income.exports.window), so
    # each posting reaches each target once even when transactions commit out of order.
    xact_id = models.BigIntegerField(db_default=CurrentTransactionId(), editable=False)
    # The account reference this money is for, when it is not the receipt's own
    # `payer_reference`: a split payment's second fund (a Parking Fines notice beside a
    # Council Tax account) keeps its own. NULL means "the receipt's payer_reference", so a
    # file import (one reference per line, already on the receipt) writes nothing more.
    # Read it only through `effective_reference` / EFFECTIVE_REFERENCE_SQL (below).
    # NULL and "" differ: "" is a line with no reference on a receipt that has one.
    reference = models.CharField(max_length=50, null=True, blank=True)  # noqa: DJ001
    # The fund's reference rule that this posting's reference passed when it was placed in
    # the fund (NULL: none was checked). Rules are disabled, never deleted, so no constraint
    # (it would be checked row by row for every posting, set or not).
    reference_rule = models.ForeignKey(
        ReferenceRule, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        db_constraint=False, db_index=False,
    )  # fmt: skip

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~models.Q(amount_pence=0), name="postings_move_money"),
        ]
        # posting_own_reference_prefix (migration 0021, in SQL: an operator class over an
        # expression) finds a receipt by a reference only one of its lines carries.
        indexes = [
            # With the id, the balance trigger finds "an older posting of this journal?" in
            # the index alone (migration 0017).
            models.Index(fields=["journal", "id"], name="posting_journal_id"),
            # Postings by account (balances, suspense, exports): no query reads them in
            # journal order, and (account_id) alone, deduplicated, is the cheaper to keep.
            models.Index(fields=["account"], name="posting_account_id"),
            models.Index(fields=["receipt", "account"], name="posting_receipt_account"),
            # Transaction ids rise as postings are appended (they are never updated), so a
            # BRIN index finds an export's recent postings for almost nothing per insert.
            BrinIndex(fields=["xact_id"], name="posting_xact_brin", autosummarize=True),
        ]

    def __str__(self) -> str:
        side = "Dr" if self.amount_pence > 0 else "Cr"
        return f"{side} {self.account.code} {abs(self.amount_pence)}p"

    @property
    def effective_reference(self) -> str:
        """As `effective_reference()` below, for one posting (loads its receipt if need be)."""
        if self.reference is not None:
            return self.reference
        return self.receipt.payer_reference if self.receipt_id else ""


# A posting's reference, defined once: its own, or else its receipt's. In SQL over a posting
# `p` and its receipt `r` (exports), and as an ORM expression over postings.
EFFECTIVE_REFERENCE_SQL = "coalesce(p.reference, r.payer_reference, '')"


def effective_reference() -> Coalesce:
    """The posting's reference as a queryset expression (joins the receipt)."""
    return Coalesce(
        "reference", "receipt__payer_reference", models.Value(""),
        output_field=models.CharField(),
    )  # fmt: skip


def own_reference(reference: str, payer_reference: str) -> str | None:
    """What a posting stores for `reference` on a receipt whose payer reference is
    `payer_reference`: NULL when they are the same (see Posting.reference)."""
    return None if reference == payer_reference else reference
