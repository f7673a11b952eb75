"""What a month of a council's reports reads besides receipts, made set-wise in SQL for the
reports benchmark: refunds approved and paid (with their journals), cash-ups, imports with
rejected lines, audit records, and receipts taken by staff."""

import datetime

from django.db import connection, transaction

from income.accounts import bank_account, refunds_payable_account

REFUNDS = 1_500
CASH_UPS_PER_DAY = 20
IMPORTS = 30
REJECTED_PER_IMPORT = 300
AUDIT_RECORDS = 100_000
STAFF = 25


@transaction.atomic
def load_month_extras(start: datetime.date, end: datetime.date) -> None:
    """In one transaction (the refunds' working table lives until it commits)."""
    payable, bank = refunds_payable_account().pk, bank_account().pk
    days = (end - start).days + 1
    with connection.cursor() as cursor:
        # Staff took the month's cash and cheques: 25 people, by receipt id.
        cursor.execute(
            """
            UPDATE income_receipt r SET created_by_id = 1000 + r.id %% %s
            FROM income_channel c
            WHERE c.id = r.channel_id AND c.taken_by_staff AND r.received_on BETWEEN %s AND %s
            """,
            [STAFF, start, end],
        )
        cursor.execute("SELECT coalesce(max(id), 0) FROM income_journal")
        base = cursor.fetchone()[0]
        cursor.execute(
            """
            CREATE TEMP TABLE bench_refund ON COMMIT DROP AS
            SELECT row_number() OVER (ORDER BY r.id) AS n, r.id AS receipt_id, r.received_on,
                p.account_id AS fund_account_id, a.fund_id, least(r.amount_pence, 500) AS pence
            FROM income_receipt r
            JOIN income_posting p ON p.receipt_id = r.id AND p.amount_pence < 0
            JOIN income_account a ON a.id = p.account_id AND a.kind = 'fund'
            WHERE r.received_on BETWEEN %s AND %s
            ORDER BY r.id LIMIT %s
            """,
            [start, end, REFUNDS],
        )
        # An approval journal for each (fund to refunds payable), a payment for every other.
        cursor.execute(
            """
            INSERT INTO income_journal (id, kind, description, created_at, created_by_email)
            SELECT %(base)s + n, 'refund', 'benchmark refund', now(), 'manager@bench.example'
            FROM bench_refund
            UNION ALL
            SELECT %(base)s + %(refunds)s + n, 'refund_paid', 'benchmark refund paid', now(),
                'manager@bench.example'
            FROM bench_refund WHERE n %% 2 = 0
            """,
            {"base": base, "refunds": REFUNDS},
        )
        cursor.execute(
            """
            INSERT INTO income_posting (journal_id, account_id, amount_pence, receipt_id, booked_on)
            SELECT %(base)s + n, fund_account_id, pence, receipt_id, received_on FROM bench_refund
            UNION ALL
            SELECT %(base)s + n, %(payable)s, -pence, receipt_id, received_on FROM bench_refund
            UNION ALL
            SELECT %(base)s + %(refunds)s + n, %(payable)s, pence, receipt_id, received_on + 1
            FROM bench_refund WHERE n %% 2 = 0
            UNION ALL
            SELECT %(base)s + %(refunds)s + n, %(bank)s, -pence, receipt_id, received_on + 1
            FROM bench_refund WHERE n %% 2 = 0
            """,
            {"base": base, "refunds": REFUNDS, "payable": payable, "bank": bank},
        )
        cursor.execute(
            """
            INSERT INTO income_refund (receipt_id, fund_id, amount_pence, reason, route, status,
                raised_by_id, raised_by_email, raised_at, decided_by_id, decided_by_email,
                decided_at, decision_note, journal_id, reference)
            SELECT receipt_id, fund_id, pence, 'Paid twice', 'council',
                CASE WHEN n %% 2 = 0 THEN 'paid' ELSE 'approved' END,
                1001, 'officer@bench.example', received_on + time '10:00',
                1002, 'manager@bench.example', received_on + time '15:00', '', %(base)s + n,
                (SELECT r.payer_reference FROM income_receipt r WHERE r.id = receipt_id)
            FROM bench_refund
            """,
            {"base": base},
        )
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('income_journal', 'id'), "
            "(SELECT max(id) FROM income_journal))"
        )
        cursor.execute(
            """
            INSERT INTO income_cashup (cashier_id, cashier_email, business_date, denominations,
                cheques, cash_counted_pence, cheques_counted_pence, expected_cash_pence,
                expected_cheques_pence, status, note, submitted_at, authorised_by_email, till,
                returned_by_email, return_reason)
            SELECT 1000 + i %% %(cashiers)s, 'cashier' || (i %% %(cashiers)s) || '@bench.example',
                %(start)s::date + (i / %(cashiers)s) %% %(days)s, '{}', '[]',
                100000 + i * 37 %% 5000, 20000, 100000 + i * 41 %% 5000, 20000,
                'submitted', '', now(), '', 'Till ' || (i %% %(cashiers)s), '', ''
            FROM generate_series(0, %(count)s - 1) AS i
            """,
            {"cashiers": CASH_UPS_PER_DAY, "start": start, "days": days,
             "count": CASH_UPS_PER_DAY * days},
        )  # fmt: skip
        cursor.execute(
            """
            WITH batches AS (
                INSERT INTO income_importbatch (file_name, sha256, size_bytes, format,
                    default_date, status, message, phase, bytes_read, lines_read,
                    receipts_created, receipts_pence, adjustments_count, adjustments_pence,
                    suspense_count, suspense_pence, rejected_count, fund_totals,
                    uploaded_by_email, uploaded_at, reversal_reason, reversed_by_email,
                    content_sha256, statement_id, duplicates_count, duplicates_pence,
                    unexplained_debits_count, unexplained_debits_pence, held_summary, problems,
                    import_anyway, decided_by_email, decision_reason)
                SELECT 'allpay-' || i || '.txt', md5(i::text) || md5(i::text), 1000000,
                    'allpay', %(start)s::date + i %% %(days)s, 'completed', '', '', 1000000,
                    15000, 14700, 300000000, 0, 0, 100, 250000, %(rejected)s, '[]',
                    'officer@bench.example', %(start)s::date + i %% %(days)s + time '09:00', '', '',
                    md5(i::text) || md5(i::text), '', 0, 0, 0, 0, '{}', '[]', false, '', ''
                FROM generate_series(0, %(imports)s - 1) AS i
                RETURNING id
            )
            INSERT INTO income_importrejectedline (batch_id, line_number, content, reason)
            SELECT b.id, line, '5000' || line || '   12.50P01/11/2026', 'The reference is not valid'
            FROM batches b CROSS JOIN generate_series(1, %(rejected)s) AS line
            """,
            {"start": start, "days": days, "imports": IMPORTS, "rejected": REJECTED_PER_IMPORT},
        )
        cursor.execute(
            """
            INSERT INTO audit_auditevent (occurred_at, actor_id, actor_email, action,
                target_type, target_id, target_label, reason, user_agent, request_id)
            SELECT %(start)s::timestamptz + (i %% (%(days)s * 86400)) * interval '1 second',
                1000 + i %% 25, 'person' || (i %% 25) || '@bench.example', 'receipt.recorded',
                'income.Receipt', i::text, 'R' || i, '', '', ''
            FROM generate_series(1, %(count)s) AS i
            """,
            {"start": start, "days": days, "count": AUDIT_RECORDS},
        )
