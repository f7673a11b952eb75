"""Money going out in an import (a returned cheque, an allpay adjustment, a bank debit or
reversal, a bank charge): each line takes its money back from the ONE receipt it identifies,
from wherever that receipt's money sits now, or it waits on the unexplained debits worklist
(Dr unexplained debits, Cr the channel's clearing: the money has left the bank).

A debit is never netted against suspense or a fund at large: that hides both the debit and
the unrelated money it was netted against (suspense's total no longer equals its items).

A line identifies a receipt when its reference is an active receipt's reference, that
receipt was received on or before the line's date and still holds at least the line's amount
(less refunds raised and not yet decided), and it is the only such receipt, or the only one of
exactly the line's amount.
"""

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from income.accounts import unexplained_debits_account
from income.imports.ledger_writing import ImportContext, MoneyOutLine
from income.models import (
    EFFECTIVE_REFERENCE_SQL,
    ImportAdjustment,
    ImportBatch,
    RefundStatus,
    UnexplainedDebit,
)
from income.money import format_pounds

RECEIPTS_BY_REFERENCE = """
SELECT r.id, r.number, r.amount_pence, r.received_on, upper(r.payer_reference)
FROM income_receipt r
WHERE r.status = 'active' AND upper(r.payer_reference) = ANY(%s)
-- Held until the import commits: a refund or another import cannot spend the same money.
ORDER BY r.id
FOR UPDATE
"""
# What each receipt holds now, per fund account (or suspense) and line reference (a split
# payment holds one per line), less refunds raised against that line and not yet decided
# (they hold that money back). The last column is what a posting taking money back from the
# line stores as its reference (NULL: the receipt's own, as Posting.reference says), so that
# the line empties under the reference it was paid with.
HOLDINGS = f"""
SELECT held.receipt_id, held.account_id, held.fund_id, held.reference,
    held.pence - coalesce((SELECT sum(f.amount_pence) FROM income_refund f
                           WHERE f.receipt_id = held.receipt_id AND f.status = %s
                             AND f.fund_id IS NOT DISTINCT FROM held.fund_id
                             AND f.reference = held.reference), 0)::bigint,
    nullif(held.reference, held.payer_reference)
FROM (
    SELECT p.receipt_id, p.account_id, a.fund_id, {EFFECTIVE_REFERENCE_SQL} AS reference,
        r.payer_reference, -sum(p.amount_pence)::bigint AS pence
    FROM income_posting p
    JOIN income_account a ON a.id = p.account_id
    JOIN income_receipt r ON r.id = p.receipt_id
    WHERE p.receipt_id = ANY(%s) AND a.kind IN ('fund', 'suspense')
    GROUP BY 1, 2, 3, 4, 5
) held
"""  # noqa: S608 - only a constant expression is formatted in
# One statement, as the ledger's balance trigger requires.
INSERT_POSTINGS = """
INSERT INTO income_posting (journal_id, account_id, amount_pence, receipt_id, reference)
SELECT %s, account_id, amount, receipt_id, reference
FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::varchar[])
    AS p(account_id, amount, receipt_id, reference)
"""


@dataclass
class Holding:
    account_id: int
    fund_id: int | None  # None: suspense
    reference: str  # the line's reference (its own, or else the receipt's)
    pence: int
    # What a posting on this line stores as its reference (None: the receipt's own).
    posting_reference: str | None = None


@dataclass
class CandidateReceipt:
    id: int
    number: str
    amount_pence: int
    received_on: datetime.date
    holdings: list[Holding] = field(default_factory=list)

    @property
    def available_pence(self) -> int:
        return sum(holding.pence for holding in self.holdings if holding.pence > 0)


@dataclass(frozen=True)
class MoneyOut:
    journal_id: int | None
    unexplained_count: int
    unexplained_pence: int


def normalised_reference(reference: str) -> str:
    """How a debit's reference is compared with receipts' (stored cut to 50 characters)."""
    return reference[:50].strip().upper()


def take_back_split(holdings: list[Holding], pence: int) -> list[tuple[Holding, int]]:
    """Where `pence` comes back from: suspense first (money nobody has placed yet), then the
    funds holding the most. The caller has checked the holdings cover it."""
    order = sorted(
        (h for h in holdings if h.pence > 0),
        key=lambda h: (h.fund_id is not None, -h.pence, h.account_id, h.reference),
    )
    taken, left = [], pence
    for holding in order:
        if not left:
            break
        part = min(holding.pence, left)
        taken.append((holding, part))
        left -= part
    if left:
        raise ValueError(f"the holdings cover {pence - left} of {pence} pence")
    return taken


def choose_receipt(
    *, reference: str, pence: int, on: datetime.date, candidates: Iterable[CandidateReceipt]
) -> tuple[CandidateReceipt | None, str]:
    """The one receipt a debit identifies, or None and why not (in words for the worklist)."""
    if not reference:
        return None, "the line has no reference to find its receipt by"
    dated = [c for c in candidates if c.received_on <= on]
    if not dated:
        return None, f"no receipt has the reference {reference}"
    holding = [c for c in dated if c.available_pence >= pence]
    if not holding:
        most = max(dated, key=lambda c: c.available_pence)
        return None, (
            f"no receipt with the reference {reference} holds {format_pounds(pence)} "
            f"({most.number} holds {format_pounds(most.available_pence)})"
        )
    if len(holding) > 1:
        exact = [c for c in holding if c.amount_pence == pence]
        if len(exact) != 1:
            numbers = ", ".join(sorted(c.number for c in holding)[:5])
            return None, (
                f"{len(holding)} receipts with the reference {reference} could be the one "
                f"({numbers}), and {'none' if not exact else 'more than one'} is of exactly "
                f"{format_pounds(pence)}"
            )
        holding = exact
    return holding[0], ""


def candidate_receipts(cursor: Any, references: set[str]) -> dict[str, list[CandidateReceipt]]:
    """Active receipts with these (normalised) references, with what each holds now."""
    if not references:
        return {}
    cursor.execute(RECEIPTS_BY_REFERENCE, [sorted(references)])
    by_id: dict[int, CandidateReceipt] = {}
    by_reference: dict[str, list[CandidateReceipt]] = defaultdict(list)
    for receipt_id, number, amount, received_on, reference in cursor.fetchall():
        candidate = CandidateReceipt(receipt_id, number, amount, received_on)
        by_id[receipt_id] = candidate
        by_reference[reference].append(candidate)
    for receipt_id, holdings in receipt_holdings(cursor, list(by_id)).items():
        by_id[receipt_id].holdings = holdings
    return by_reference


def receipt_holdings(cursor: Any, receipt_ids: list[int]) -> dict[int, list[Holding]]:
    """What each receipt holds now that may be taken back, per fund account or suspense."""
    found: dict[int, list[Holding]] = defaultdict(list)
    if receipt_ids:
        cursor.execute(HOLDINGS, [RefundStatus.REQUESTED.value, receipt_ids])
        for receipt_id, account_id, fund_id, reference, pence, posted_as in cursor.fetchall():
            found[receipt_id].append(Holding(account_id, fund_id, reference, pence, posted_as))
    return found


def post_money_out(
    cursor: Any, batch: ImportBatch, context: ImportContext, lines: list[MoneyOutLine]
) -> MoneyOut:
    """Post every money-out line of the import (gathered chunk by chunk, in the file's
    order) in one journal, and record each line: an ImportAdjustment for all, an
    UnexplainedDebit for those no receipt explains."""
    if not lines:
        return MoneyOut(None, 0, 0)
    candidates = candidate_receipts(
        cursor, {normalised_reference(line[3]) for line in lines} - {""}
    )
    unexplained_account = unexplained_debits_account().pk
    # Keyed by account, receipt and line reference: a receipt's money goes back out from the
    # line that holds it, under that line's reference.
    postings: dict[tuple[int, int | None, str | None], int] = defaultdict(int)
    adjustments, unexplained = [], []
    for line in lines:
        line_number, pence, received_on, reference, narrative, channel_id, clearing_id = line[:7]
        receipt, why = choose_receipt(
            reference=normalised_reference(reference),
            pence=pence,
            on=received_on,
            candidates=candidates.get(normalised_reference(reference), ()),
        )
        common = {
            "batch_id": batch.pk,
            "line_number": line_number,
            "amount_pence": pence,
            "reference": reference[:50],
            "narrative": narrative[:300],
            "channel_id": channel_id,
            "received_on": received_on,
        }
        keyed = {**common, "line_key": line[7]}
        if receipt is None:
            postings[(clearing_id, None, None)] -= pence
            postings[(unexplained_account, None, None)] += pence
            adjustments.append(ImportAdjustment(unexplained=True, **keyed))
            unexplained.append(UnexplainedDebit(reason=why, **common))
            continue
        # The receipt's money goes back out through this line's channel, in its name.
        postings[(clearing_id, receipt.id, None)] -= pence
        split = take_back_split(receipt.holdings, pence)
        for holding, part in split:
            postings[(holding.account_id, receipt.id, holding.posting_reference)] += part
            holding.pence -= part  # a later line of the file sees what is left
        funds = {holding.fund_id for holding, _ in split}
        adjustments.append(
            ImportAdjustment(
                receipt_id=receipt.id,
                fund_id=funds.pop() if len(funds) == 1 else None,
                **keyed,
            )
        )
    cursor.execute(
        "INSERT INTO income_journal (kind, description, created_at, created_by_id, "
        "created_by_email) VALUES ('reversal', %s, now(), %s, %s) RETURNING id",
        [
            f"Money taken back by import {batch.pk} ({batch.file_name})"[:300],
            context.user_id,
            context.user_email,
        ],
    )
    journal_id = cursor.fetchone()[0]
    sides = [(key, amount) for key, amount in postings.items() if amount]
    cursor.execute(
        INSERT_POSTINGS,
        [
            journal_id,
            [account for (account, _, _), _ in sides],
            [amount for _, amount in sides],
            [receipt for (_, receipt, _), _ in sides],
            [reference for (_, _, reference), _ in sides],
        ],
    )
    ImportAdjustment.objects.bulk_create(adjustments, batch_size=5_000)
    UnexplainedDebit.objects.bulk_create(unexplained, batch_size=5_000)
    return MoneyOut(journal_id, len(unexplained), sum(d.amount_pence for d in unexplained))
