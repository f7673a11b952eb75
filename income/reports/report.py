"""What every report is made of: tables of rows over a period, and perhaps a chart."""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.utils import timezone

from income.dashboard import Bar

# More rows than this are not shown on screen (the CSV holds them all): a listing report
# reads only this many for the screen, and its totals from the database.
SCREEN_ROWS = 100


class Kind(StrEnum):
    TEXT = "text"
    PENCE = "pence"
    COUNT = "count"
    DATE = "date"
    TIME = "time"


@dataclass(frozen=True)
class Column:
    heading: str
    kind: Kind = Kind.TEXT

    @property
    def is_numeric(self) -> bool:
        return self.kind in (Kind.PENCE, Kind.COUNT)


@dataclass(frozen=True)
class Period:
    """Both days included."""

    start: datetime.date
    end: datetime.date

    def moments(self) -> tuple[datetime.datetime, datetime.datetime]:
        """The period as moments: from the first day's midnight, UK time, to the midnight
        after the last (excluded), so a timestamp column is searched by its index."""
        zone = timezone.get_current_timezone()
        after = self.end + datetime.timedelta(days=1)
        return (
            datetime.datetime.combine(self.start, datetime.time(), tzinfo=zone),
            datetime.datetime.combine(after, datetime.time(), tzinfo=zone),
        )

    def __str__(self) -> str:
        if self.start == self.end:
            return f"{self.start:%-d %B %Y}"
        return f"{self.start:%-d %B %Y} to {self.end:%-d %B %Y}"


@dataclass
class ReportTable:
    caption: str
    columns: Sequence[Column]
    rows: list[tuple[Any, ...]]
    # The last row, e.g. ("Total", "", 12, 34_500); None when a total would mean nothing.
    totals: tuple[Any, ...] | None = None
    empty_text: str = "Nothing in this period."
    # More rows matched than `rows` holds (it was read with a limit).
    cut_short: bool = False

    @property
    def screen_rows(self) -> list[tuple[Any, ...]]:
        return self.rows[:SCREEN_ROWS]

    @property
    def is_cut_short(self) -> bool:
        return self.cut_short or len(self.rows) > SCREEN_ROWS


@dataclass(frozen=True)
class Chart:
    title: str
    bars: list[Bar]
    label_heading: str
    count_heading: str


@dataclass
class Report:
    title: str
    period: Period
    tables: list[ReportTable]
    chart: Chart | None = None
    notes: list[str] = field(default_factory=list)


def bars(rows: list[tuple[str, int, int]], *, keep_order: bool = False) -> list[Bar]:
    """(label, pence, count) rows as bars, largest first unless `keep_order`, each bar's length
    relative to the largest amount."""
    largest = max((abs(pence) for _, pence, _ in rows), default=0)
    ordered = rows if keep_order else sorted(rows, key=lambda row: -row[1])
    return [
        Bar(label, pence, count, round(abs(pence) * 100 / largest) if largest else 0)
        for label, pence, count in ordered
    ]


def total_by_label(rows: list[tuple[Any, ...]], label: int, pence: int, count: int) -> list[Bar]:
    """Chart bars adding up `rows` per label (e.g. each fund over every day of the period)."""
    sums: dict[str, list[int]] = {}
    for row in rows:
        entry = sums.setdefault(str(row[label]), [0, 0])
        entry[0] += row[pence]
        entry[1] += row[count]
    return bars([(name, amount, number) for name, (amount, number) in sums.items()])


def limited(rows: list, limit: int | None) -> tuple[list, bool]:
    """`rows` read with `limit + 1` as their limit: the first `limit`, and whether there were
    more."""
    if limit is None or len(rows) <= limit:
        return rows, False
    return rows[:limit], True


def sql_limit(limit: int | None) -> str:
    """A LIMIT clause reading one row more than `limit` (so we know there were more)."""
    return "" if limit is None else f"LIMIT {int(limit) + 1}"
