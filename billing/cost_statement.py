"""The cost-sharing statement, read side: each month's platform cost shared out by the
published formula (billing.apportionment), and each council's year beside what it was invoiced.

Everything is worked out from the records (costs, the formula in force, the usage ledger, the
price book's bands, invoices), so the figures always agree with them; nothing is stored but the
settled true-ups.

- A month's councils are those billed (with a billing account) that existed by its end (or have
  usage in it) and were not closed before it began.
- Drivers: a council's transactions are the month's sum in the usage ledger; its storage is the
  most it held on any day of the month; its band weight is its band's monthly price in the price
  book at the month's end (1 each when the book has no bands).
- Invoice figures are before VAT: every invoice carries the price book's 20% VAT, taken off here
  (to the nearest penny) so they compare with the cost, which is before VAT too.
- The financial year runs from 1 April.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction

from django.db.models import Max, Q, Sum
from django.utils import timezone

from billing.actions.price_book import current_prices
from billing.apportionment import Drivers, Weights, apportion
from billing.cost_models import CostSharingFormula, PlatformCost, TrueUpSettlement
from billing.models import BillingAccount, Invoice, Meter, PriceKind, UsageRecord
from tenants.models import Council, CouncilStatus

DEFAULT_FORMULA = {
    "fixed_percent": 40,
    "transactions_percent": 40,
    "storage_percent": 20,
    "tolerance_percent": Decimal(3),
}
VAT_PERCENT = 20
INVOICED_STATUSES = ("open", "paid", "uncollectible")


def month_end(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def financial_year_of(day: date) -> int:
    """The financial year a day is in, named by the year it starts (1 April)."""
    return day.year if day.month >= 4 else day.year - 1


def year_label(year: int) -> str:
    return f"{year}-{(year + 1) % 100:02d}"


def months_of_year(year: int) -> list[date]:
    return [date(year + (month < 4), month, 1) for month in (*range(4, 13), 1, 2, 3)]


def without_vat(gross_pence: int) -> int:
    """The amount before the 20% VAT an invoice added, to the nearest penny (half up)."""
    return (gross_pence * 100 * 2 + (100 + VAT_PERCENT)) // (2 * (100 + VAT_PERCENT))


def formula_for(month: date) -> CostSharingFormula:
    """The formula in force for a month (an unsaved default before the operator sets one)."""
    formula = CostSharingFormula.objects.filter(effective_from__lte=month).last()
    return formula or CostSharingFormula(effective_from=date(2000, 1, 1), **DEFAULT_FORMULA)


@dataclass
class CouncilMonth:
    council: Council
    drivers: Drivers
    band_population: int
    share_pence: int
    invoiced_pence: int = 0


@dataclass
class MonthStatement:
    month: date
    costs: dict[str, int]
    formula: CostSharingFormula
    councils: list[CouncilMonth]

    @property
    def total_pence(self) -> int:
        return sum(self.costs.values())

    @property
    def transactions(self) -> int:
        return sum(row.drivers.transactions for row in self.councils)

    @property
    def shares_total_pence(self) -> int:
        return sum(row.share_pence for row in self.councils)

    def for_council(self, council: Council) -> CouncilMonth | None:
        return next((row for row in self.councils if row.council.pk == council.pk), None)


def _band_weights(day: date) -> list[tuple[int, int]]:
    """(population from, monthly price) of each band in force on a day, smallest first."""
    return [
        (row.population_from, row.amount_pence)
        for row in current_prices(day)
        if row.kind == PriceKind.BAND
    ]


def _band_of(population: int, bands: list[tuple[int, int]]) -> tuple[int, int]:
    reached = [band for band in bands if band[0] <= population]
    return reached[-1] if reached else (0, 1)


def _accounts_in(month: date, used: set[int]) -> list[BillingAccount]:
    """The billed councils of a month: those that existed by its end (or have usage in it)
    and were not closed before it began."""
    start = datetime.combine(month, time(), tzinfo=UTC)
    end = datetime.combine(month_end(month) + timedelta(days=1), time(), tzinfo=UTC)
    closed_before = Q(
        council__status__in=[CouncilStatus.CLOSING, CouncilStatus.CLOSED],
        council__status_changed__lt=start,
    )
    return list(
        BillingAccount.objects.select_related("council")
        .filter(Q(council__created__lt=end) | Q(council_id__in=used))
        .exclude(council__status=CouncilStatus.PENDING)
        .exclude(closed_before)
        .order_by("council__name", "council_id")
    )


def _usage(months: list[date]) -> dict[tuple[date, int], dict[str, int]]:
    """(month, council id) → transactions summed and the most bytes stored, in one query."""
    from django.db.models.functions import TruncMonth

    rows = (
        UsageRecord.objects.filter(day__gte=months[0], day__lte=month_end(months[-1]))
        .annotate(month=TruncMonth("day"))
        .values("month", "council_id", "meter")
        .annotate(total=Sum("quantity"), most=Max("quantity"))
    )
    usage: dict[tuple[date, int], dict[str, int]] = defaultdict(dict)
    for row in rows:
        value = row["total"] if row["meter"] == Meter.TRANSACTIONS else row["most"]
        usage[(row["month"], row["council_id"])][row["meter"]] = value
    return usage


def _invoiced(months: list[date]) -> dict[tuple[date, int], int]:
    """(month, council id) → what its invoices raised that month came to, before VAT."""
    start = int(datetime.combine(months[0], time(), tzinfo=UTC).timestamp())
    end = int(
        datetime.combine(month_end(months[-1]) + timedelta(days=1), time(), tzinfo=UTC).timestamp()
    )
    invoiced: dict[tuple[date, int], int] = defaultdict(int)
    for council_id, created, amount in Invoice.objects.filter(
        status__in=INVOICED_STATUSES, stripe_created__gte=start, stripe_created__lt=end
    ).values_list("account__council_id", "stripe_created", "amount_due_pence"):
        month = datetime.fromtimestamp(created, UTC).date().replace(day=1)
        invoiced[(month, council_id)] += amount
    return {key: without_vat(gross) for key, gross in invoiced.items()}


def statements_for(months: list[date]) -> list[MonthStatement]:
    """The statement of every month in `months` that has a cost entered, oldest first."""
    costs: dict[date, dict[str, int]] = defaultdict(dict)
    for cost in PlatformCost.objects.filter(month__in=months):
        costs[cost.month][cost.category] = cost.amount_pence
    months = sorted(costs)
    if not months:
        return []
    usage, invoiced = _usage(months), _invoiced(months)
    statements = []
    for month in months:
        formula = formula_for(month)
        bands = _band_weights(month_end(month))
        accounts = _accounts_in(month, {council for (m, council) in usage if m == month})
        drivers = {}
        populations = {}
        for account in accounts:
            band_from, band_weight = _band_of(account.population, bands)
            used = usage.get((month, account.council_id), {})
            drivers[account.council_id] = Drivers(
                band_weight=band_weight,
                transactions=used.get(str(Meter.TRANSACTIONS), 0),
                stored_bytes=used.get(str(Meter.STORED_BYTES), 0),
            )
            populations[account.council_id] = band_from
        shares = apportion(
            sum(costs[month].values()),
            drivers,
            Weights(formula.fixed_percent, formula.transactions_percent, formula.storage_percent),
        )
        statements.append(
            MonthStatement(
                month=month,
                costs=dict(sorted(costs[month].items())),
                formula=formula,
                councils=[
                    CouncilMonth(
                        council=account.council,
                        drivers=drivers[account.council_id],
                        band_population=populations[account.council_id],
                        share_pence=shares[account.council_id],
                        invoiced_pence=invoiced.get((month, account.council_id), 0),
                    )
                    for account in accounts
                ],
            )
        )
    return statements


@dataclass
class TrueUp:
    """A council's year: what it paid (before VAT) against its share of actual cost."""

    council: Council
    year: int
    paid_pence: int
    share_pence: int
    tolerance_percent: Decimal
    settlement: TrueUpSettlement | None = None

    @property
    def difference_pence(self) -> int:
        return self.paid_pence - self.share_pence

    @property
    def beyond_tolerance(self) -> bool:
        if self.share_pence == 0:
            return self.difference_pence != 0
        return abs(self.difference_pence) * 100 > self.tolerance_percent * self.share_pence

    @property
    def year_ended(self) -> bool:
        return timezone.localdate() >= date(self.year + 1, 4, 1)


def true_up_for(council: Council, year: int, statements: list[MonthStatement]) -> TrueUp:
    months = months_of_year(year)
    start = int(datetime.combine(months[0], time(), tzinfo=UTC).timestamp())
    end = int(datetime.combine(date(year + 1, 4, 1), time(), tzinfo=UTC).timestamp())
    paid = Invoice.objects.filter(
        account__council=council, stripe_created__gte=start, stripe_created__lt=end
    ).aggregate(paid=Sum("amount_paid_pence"))["paid"]
    share = sum(
        row.share_pence
        for statement in statements
        if (row := statement.for_council(council)) is not None
    )
    return TrueUp(
        council=council,
        year=year,
        paid_pence=without_vat(paid or 0),
        share_pence=share,
        tolerance_percent=formula_for(months[-1]).tolerance_percent,
        settlement=TrueUpSettlement.objects.filter(council=council, year=year).first(),
    )


@dataclass
class ChartBar:
    label: str
    pence_per_transaction: Fraction | None

    @property
    def display(self) -> str:
        if self.pence_per_transaction is None:
            return "no transactions"
        return f"{float(self.pence_per_transaction):.2f}p"


@dataclass
class ChartMonth:
    month: date
    council: ChartBar
    platform: ChartBar
    scale: list[int] = field(default_factory=list)  # bar widths in percent, council then platform


def per_transaction(pence: int, transactions: int) -> Fraction | None:
    return Fraction(pence, transactions) if transactions else None


def cost_per_transaction_chart(
    council: Council, statements: list[MonthStatement]
) -> list[ChartMonth]:
    """The council's cost per transaction by month against the platform's."""
    months = []
    for statement in statements:
        row = statement.for_council(council)
        if row is None:
            continue
        months.append(
            ChartMonth(
                month=statement.month,
                council=ChartBar(
                    council.name, per_transaction(row.share_pence, row.drivers.transactions)
                ),
                platform=ChartBar(
                    "Platform", per_transaction(statement.total_pence, statement.transactions)
                ),
            )
        )
    largest = max(
        (
            bar.pence_per_transaction or 0
            for chart in months
            for bar in (chart.council, chart.platform)
        ),
        default=0,
    )
    for chart in months:
        chart.scale = [
            int(100 * (bar.pence_per_transaction or 0) / largest) if largest else 0
            for bar in (chart.council, chart.platform)
        ]
    return months


@dataclass
class CouncilStatement:
    council: Council
    year: int
    statements: list[MonthStatement]
    rows: list[tuple[MonthStatement, CouncilMonth]]
    true_up: TrueUp
    chart: list[ChartMonth]

    @property
    def label(self) -> str:
        return year_label(self.year)

    @property
    def share_pence(self) -> int:
        return sum(row.share_pence for _, row in self.rows)

    @property
    def invoiced_pence(self) -> int:
        return sum(row.invoiced_pence for _, row in self.rows)

    @property
    def platform_pence(self) -> int:
        return sum(statement.total_pence for statement, _ in self.rows)


def council_statement(council: Council, year: int | None = None) -> CouncilStatement:
    """One council's statement for a financial year: only its own figures and the platform's
    totals, never another council's."""
    year = financial_year_of(timezone.localdate()) if year is None else year
    statements = statements_for(months_of_year(year))
    rows = [
        (statement, row)
        for statement in statements
        if (row := statement.for_council(council)) is not None
    ]
    return CouncilStatement(
        council=council,
        year=year,
        statements=statements,
        rows=rows,
        true_up=true_up_for(council, year, statements),
        chart=cost_per_transaction_chart(council, statements),
    )


def platform_true_ups(year: int, statements: list[MonthStatement]) -> list[TrueUp]:
    councils = {row.council.pk: row.council for s in statements for row in s.councils}
    return [
        true_up_for(council, year, statements)
        for council in sorted(councils.values(), key=lambda c: c.name)
    ]
