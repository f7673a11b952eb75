"""The published formula: one month's platform cost shared across councils, to the penny.

Each council's exact share is the month's cost times

    fixed% x its band weight / all band weights
  + transactions% x its transactions / all transactions
  + storage% x its stored bytes / all stored bytes

(all in exact fractions). A part nobody has any of (no transactions at all that month) passes
its weight to the parts somebody has, so the whole cost is always shared; with nothing at all
to go on, the cost is shared equally. Whole pence come from largest-remainder rounding: each
council gets its share rounded down, and the pennies left over go one each to the councils
with the largest remainders (ties to the earlier key), so the shares add up to the cost
exactly and none is more than a penny from its exact share.
"""

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import TypeVar

Key = TypeVar("Key", bound=Hashable)


@dataclass(frozen=True)
class Weights:
    fixed_percent: int
    transactions_percent: int
    storage_percent: int


@dataclass(frozen=True)
class Drivers:
    """What a council brought to a month: its band's weight, its transactions, its storage."""

    band_weight: int
    transactions: int
    stored_bytes: int


def exact_shares(
    total_pence: int, drivers: Mapping[Key, Drivers], weights: Weights
) -> dict[Key, Fraction]:
    """Each council's share as an exact fraction of a penny; they add up to `total_pence`."""
    if not drivers:
        return {}
    parts = [
        (weights.fixed_percent, {key: d.band_weight for key, d in drivers.items()}),
        (weights.transactions_percent, {key: d.transactions for key, d in drivers.items()}),
        (weights.storage_percent, {key: d.stored_bytes for key, d in drivers.items()}),
    ]
    live = [(weight, amounts, sum(amounts.values())) for weight, amounts in parts]
    live = [(weight, amounts, whole) for weight, amounts, whole in live if whole > 0 and weight]
    if not live:
        equal = Fraction(total_pence, len(drivers))
        return dict.fromkeys(drivers, equal)
    weight_sum = sum(weight for weight, _, _ in live)
    return {
        key: Fraction(total_pence)
        * sum(
            (Fraction(weight * amounts[key], whole) for weight, amounts, whole in live), Fraction(0)
        )
        / weight_sum
        for key in drivers
    }


def largest_remainder(exact: Mapping[Key, Fraction], total_pence: int) -> dict[Key, int]:
    """Whole pence adding up to `total_pence`, none more than a penny from its exact share."""
    floors = {key: share.numerator // share.denominator for key, share in exact.items()}
    left_over = total_pence - sum(floors.values())
    # Largest remainder first; among equals, the order the keys came in (stable sort).
    by_remainder = sorted(exact, key=lambda key: exact[key] - floors[key], reverse=True)
    for key in by_remainder[:left_over]:
        floors[key] += 1
    return floors


def apportion(total_pence: int, drivers: Mapping[Key, Drivers], weights: Weights) -> dict[Key, int]:
    """The month's cost shared out in whole pence that add up to it exactly."""
    if total_pence < 0:
        raise ValueError("A cost cannot be negative")
    return largest_remainder(exact_shares(total_pence, drivers, weights), total_pence)
