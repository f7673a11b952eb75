"""Posting journals: the only way money moves in the ledger."""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from income.models import Account, Journal, JournalKind, Posting, Receipt, ReferenceRule
from tenants.models import User


@dataclass(frozen=True)
class PostingLine:
    account: Account
    amount_pence: int  # positive: debit; negative: credit
    receipt: Receipt | None = None
    # The line's own reference; None: the receipt's payer_reference (see Posting.reference).
    reference: str | None = None
    # The fund's rule that `reference` passed, when one was checked.
    reference_rule: ReferenceRule | None = None


def is_pence(value: object) -> bool:
    """A whole number of pence: an int, never a float, Decimal, string or bool."""
    return isinstance(value, int) and not isinstance(value, bool)


@transaction.atomic
def post_journal(
    *,
    kind: JournalKind,
    description: str,
    lines: Sequence[PostingLine],
    acting_user: User | None,
    reverses: Journal | None = None,
    booked_on: datetime.date | None = None,
) -> Journal:
    """Write one balanced journal, its postings booked on `booked_on` (by default, today)."""
    check_balanced(lines)
    journal = open_journal(
        kind=kind, description=description, acting_user=acting_user, reverses=reverses
    )
    write_postings(journal, lines, booked_on=booked_on)
    return journal


def check_balanced(lines: Sequence[PostingLine]) -> None:
    if len(lines) < 2:
        raise ValidationError("A journal needs at least two postings.")
    for line in lines:
        if not is_pence(line.amount_pence) or line.amount_pence == 0:
            raise ValidationError(
                f"{line.amount_pence!r} is not a whole, non-zero number of pence."
            )
    total = sum(line.amount_pence for line in lines)
    if total != 0:
        raise ValidationError(f"The journal does not balance: it is out by {total} pence.")


def open_journal(
    *,
    kind: JournalKind,
    description: str,
    acting_user: User | None,
    reverses: Journal | None = None,
) -> Journal:
    """The journal's header. Its postings must follow in one `write_postings` call, in the same
    transaction (a receipt is written between the two, so that its postings can name it)."""
    return Journal.objects.create(
        kind=kind,
        description=description[:300],
        created_by_id=getattr(acting_user, "pk", None),
        created_by_email=getattr(acting_user, "email", "") or "",
        reverses=reverses,
    )


def write_postings(
    journal: Journal, lines: Sequence[PostingLine], *, booked_on: datetime.date | None = None
) -> None:
    """All of a journal's postings in one statement, as the database's balance trigger
    requires (migration income/0003). `booked_on` dates them in the books (a receipt's own
    journal: the day it was received); by default, today."""
    check_balanced(lines)
    dated = {"booked_on": booked_on} if booked_on is not None else {}
    Posting.objects.bulk_create(
        [
            Posting(
                journal=journal,
                account=line.account,
                amount_pence=line.amount_pence,
                receipt=line.receipt,
                reference=line.reference,
                reference_rule=line.reference_rule,
                **dated,
            )
            for line in lines
        ]
    )


@transaction.atomic
def reverse_journal(
    *,
    journal: Journal,
    reason: str,
    acting_user: User | None,
    booked_on: datetime.date | None = None,
) -> Journal:
    """Post the mirror image of `journal`, booked on `booked_on` (by default, today). A
    journal is reversed at most once."""
    if journal.reverses_id is not None:
        raise ValidationError("A reversal cannot itself be reversed; post a new journal.")
    if Journal.objects.filter(reverses=journal).exists():
        raise ValidationError(f"Journal J{journal.pk} has already been reversed.")
    # The mirror keeps each line's reference: a reversed line's money was for that reference.
    lines = [
        PostingLine(
            posting.account, -posting.amount_pence, posting.receipt, posting.reference,
            posting.reference_rule,
        )
        for posting in journal.postings.select_related("account", "receipt", "reference_rule")
    ]  # fmt: skip
    return post_journal(
        kind=JournalKind.REVERSAL,
        description=f"Reversal of J{journal.pk}: {reason}",
        lines=lines,
        acting_user=acting_user,
        reverses=journal,
        booked_on=booked_on,
    )
