"""VAT collected by VAT code: what reached funds, as the ledger's day totals hold it, and
the VAT within it.

Fund amounts include VAT, so the VAT in an amount is amount * rate / (100% + rate). It is
worked out on each fund's total for each day (as the general-ledger journal summarises
them), rounded to the nearest penny, halves away from zero, in integers throughout.
"""

from collections import defaultdict

from django.db.models import Sum

from income.models import AccountKind, DailyAccountTotal, VatCode
from income.reports.report import Chart, Column, Kind, Period, Report, ReportTable, bars

NO_CODE = "No VAT code"


def vat_within(gross_pence: int, rate_basis_points: int) -> int:
    """The VAT inside a VAT-inclusive amount, to the nearest penny (halves away from zero)."""
    divisor = 10_000 + rate_basis_points
    whole, remainder = divmod(abs(gross_pence) * rate_basis_points, divisor)
    vat = whole + (1 if remainder * 2 >= divisor else 0)
    return vat if gross_pence >= 0 else -vat


def rate_text(rate_basis_points: int) -> str:
    whole, part = divmod(rate_basis_points, 100)
    return f"{whole}.{part:02d}%".replace(".00%", "%")


def vat_collected(period: Period) -> Report:
    found = (
        DailyAccountTotal.objects.filter(
            account__kind=AccountKind.FUND, booked_on__range=(period.start, period.end)
        )
        .values(
            "booked_on", "account__fund__vat_code", "account__fund__vat_code__code",
            "account__fund__vat_code__name", "account__fund__vat_code__rate_basis_points",
        )
        .annotate(total=Sum("pence"))
    )  # fmt: skip
    # The codes come with the totals: one statement, not two.
    codes = {
        row["account__fund__vat_code"]: VatCode(
            pk=row["account__fund__vat_code"],
            code=row["account__fund__vat_code__code"],
            name=row["account__fund__vat_code__name"],
            rate_basis_points=row["account__fund__vat_code__rate_basis_points"],
        )
        for row in found
        if row["account__fund__vat_code"] is not None
    }
    # VAT code id (None: none) → [gross, VAT]
    sums: dict[int | None, list[int]] = defaultdict(lambda: [0, 0])
    for row in found:
        gross = -row["total"]
        code = codes.get(row["account__fund__vat_code"])
        sums[code.pk if code else None][0] += gross
        sums[code.pk if code else None][1] += vat_within(
            gross, code.rate_basis_points if code else 0
        )
    rows = []
    for code_id, (gross, vat) in sorted(sums.items(), key=lambda item: str(codes.get(item[0], ""))):
        code = codes.get(code_id)
        rows.append(
            (code.code if code else NO_CODE, code.name if code else "",
             rate_text(code.rate_basis_points) if code else "", gross, gross - vat, vat)
        )  # fmt: skip
    table = ReportTable(
        "VAT collected by VAT code",
        [Column("VAT code"), Column("Name"), Column("Rate"), Column("Gross", Kind.PENCE),
         Column("Net", Kind.PENCE), Column("VAT", Kind.PENCE)],
        rows,
        ("Total", "", "", *(sum(row[index] for row in rows) for index in (3, 4, 5))),
    )  # fmt: skip
    chart = Chart("VAT by VAT code", bars([(row[0], row[5], 0) for row in rows]), "VAT code", "")
    return Report("VAT collected", period, [table], chart)
