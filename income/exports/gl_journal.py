"""The general-ledger journal: what the run's postings moved into and out of each fund,
summarised per day booked, ledger code, cost centre and VAT code, with each day's net
debited (or credited) to the target's control code, so that debits equal credits."""

import csv
import datetime
import io
from dataclasses import dataclass, field
from typing import Any

from income.csv_cells import neutralise
from income.models import Account
from income.money import decimal_pounds

# Summed per day and fund account by PostgreSQL (a parallel scan of the postings, no join):
# the fund's codes are a handful of rows, looked up afterwards.
BY_DAY_AND_ACCOUNT = """
SELECT p.booked_on, p.account_id, sum(p.amount_pence)::bigint, count(*),
    coalesce(sum(-p.amount_pence) FILTER (WHERE p.amount_pence < 0), 0)::bigint,
    coalesce(sum(p.amount_pence) FILTER (WHERE p.amount_pence > 0), 0)::bigint,
    min(p.id), max(p.id)
FROM income_posting p
WHERE p.account_id = ANY(%(accounts)s::bigint[]) AND {window}
GROUP BY 1, 2
"""
HEADER = ["date", "ledger_code", "cost_centre", "vat_code", "debit", "credit", "description"]


@dataclass
class JournalFile:
    """The file's text and what it holds."""

    text: str = ""
    line_count: int = 0
    income_pence: int = 0
    outgoing_pence: int = 0
    first_posting_id: int | None = None
    last_posting_id: int | None = None
    # (day, ledger code, cost centre, VAT code) → [ledger amount (debit positive), entries]
    lines: dict[tuple, list[int]] = field(default_factory=dict)


def make_journal(
    cursor: Any,
    window: str,
    params: dict[str, Any],
    *,
    date_format: str,
    control_ledger_code: str,
) -> JournalFile:
    cursor.execute(BY_DAY_AND_ACCOUNT.format(window=window), params)
    codes = {
        account.pk: (account.fund.ledger_code, account.fund.cost_centre, _vat(account))
        for account in Account.objects.filter(pk__in=params["accounts"]).select_related(
            "fund__vat_code"
        )
    }
    journal = JournalFile()
    for day, account_id, pence, entries, income, outgoing, first, last in cursor.fetchall():
        entry = journal.lines.setdefault((day, *codes[account_id]), [0, 0])
        entry[0] += pence
        entry[1] += entries
        journal.income_pence += income
        journal.outgoing_pence += outgoing
        journal.first_posting_id = min(first, journal.first_posting_id or first)
        journal.last_posting_id = max(last, journal.last_posting_id or last)
    journal.text = _render(journal, date_format, neutralise(control_ledger_code or "CONTROL"))
    return journal


def _vat(account: Account) -> str:
    return account.fund.vat_code.code if account.fund.vat_code else ""


def _render(journal: JournalFile, date_format: str, control: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    debits = credits = lines = 0
    days: dict[datetime.date, list[tuple]] = {}
    for key in sorted(journal.lines):
        days.setdefault(key[0], []).append(key)
    for day, keys in days.items():
        when = neutralise(day.strftime(date_format))
        net = sum(journal.lines[key][0] for key in keys)
        if net:
            # The funds' net credit is the control account's debit, and the other way round.
            writer.writerow([when, control, "", "", *_sides(-net), "Net income for the day"])
            lines += 1
        for key in keys:
            pence, entries = journal.lines[key]
            if not pence:
                continue
            _, ledger_code, cost_centre, vat_code = key
            writer.writerow(
                [
                    when,
                    neutralise(ledger_code),
                    neutralise(cost_centre),
                    neutralise(vat_code),
                    *_sides(pence),
                    f"{entries} entr{'y' if entries == 1 else 'ies'}",
                ]
            )
            lines += 1
        debits += sum(max(journal.lines[key][0], 0) for key in keys) + max(-net, 0)
        credits += sum(max(-journal.lines[key][0], 0) for key in keys) + max(net, 0)
    writer.writerow(
        ["TOTAL", "", "", "", decimal_pounds(debits), decimal_pounds(credits), f"{lines} lines"]
    )
    journal.line_count = lines
    return out.getvalue()


def _sides(pence: int) -> list[str]:
    """A ledger amount (debit positive) as its debit and credit cells."""
    return [decimal_pounds(pence), ""] if pence > 0 else ["", decimal_pounds(-pence)]
