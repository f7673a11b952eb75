"""The search's result rows, written in Python: escaped, and dated as Django's "j M Y"."""

import datetime

from django.utils import translation
from django.utils.dateformat import format as format_date

from income.models import Channel, Receipt, ReceiptStatus
from income.templatetags.receipt_table import receipt_rows


def _receipt(**fields: object) -> Receipt:
    defaults = {
        "number": "R1001",
        "status": ReceiptStatus.ACTIVE,
        "received_on": datetime.date(2026, 3, 7),
        "payer_name": "Pat Smith",
        "payer_reference": "50000009",
        "amount_pence": 123456,
        "channel": Channel(name="Cash"),
    }
    return Receipt(**{**defaults, **fields})


def test_a_row_escapes_what_a_payer_typed():
    html = receipt_rows([_receipt(payer_name="O'Brien & <b>Sons</b>", payer_reference="A<1>")])
    assert "O&#x27;Brien &amp; &lt;b&gt;Sons&lt;/b&gt;" in html
    assert "<code>A&lt;1&gt;</code>" in html
    assert "<b>" not in html
    assert '<a class="govuk-link" href="/receipts/R1001/">R1001</a>' in html
    assert "£1,234.56" in html


def test_a_rows_date_is_the_one_django_writes_in_each_language():
    days = [datetime.date(2026, month, day) for month, day in ((1, 1), (3, 7), (12, 31))]
    for language in ("en", "cy"):
        with translation.override(language):
            html = receipt_rows([_receipt(received_on=day) for day in days])
            for day in days:
                assert f'<td class="govuk-table__cell">{format_date(day, "j M Y")}</td>' in html


def test_a_reversed_receipt_is_tagged():
    assert "Reversed" in receipt_rows([_receipt(status=ReceiptStatus.REVERSED)])
    assert "Reversed" not in receipt_rows([_receipt()])
