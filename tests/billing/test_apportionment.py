"""The published formula shares a month's cost out to the penny (largest remainder)."""

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from billing.apportionment import Drivers, Weights, apportion, exact_shares

EVEN = Weights(fixed_percent=40, transactions_percent=40, storage_percent=20)


def test_a_worked_example_by_hand():
    drivers = {
        "north": Drivers(band_weight=90_000, transactions=3_000, stored_bytes=0),
        "east": Drivers(band_weight=50_000, transactions=1_000, stored_bytes=0),
    }
    # £1,000.01: fixed 40% split 9:5, transactions 40% split 3:1; storage's 20% (nobody stored
    # anything) passes to the other two, so fixed and transactions weigh half each.
    shares = apportion(100_001, drivers, EVEN)
    exact = exact_shares(100_001, drivers, EVEN)
    assert exact["north"] == Fraction(100_001) * (Fraction(9, 14) + Fraction(3, 4)) / 2
    assert shares == {"north": 69_644, "east": 30_357}
    assert sum(shares.values()) == 100_001


def test_the_left_over_pennies_go_to_the_largest_remainders():
    drivers = {name: Drivers(1, 0, 0) for name in ("a", "b", "c")}
    # 100p three ways: 33⅓ each; the one left-over penny goes to the first of the equals.
    assert apportion(100, drivers, EVEN) == {"a": 34, "b": 33, "c": 33}


def test_with_nothing_to_go_on_the_cost_is_shared_equally():
    drivers = {name: Drivers(0, 0, 0) for name in ("a", "b")}
    assert apportion(1_001, drivers, EVEN) == {"a": 501, "b": 500}


drivers_strategy = st.dictionaries(
    st.integers(min_value=1, max_value=10_000),
    st.builds(
        Drivers,
        band_weight=st.integers(min_value=0, max_value=10_000_000),
        transactions=st.integers(min_value=0, max_value=50_000_000),
        stored_bytes=st.integers(min_value=0, max_value=10**13),
    ),
    min_size=1,
    max_size=60,
)
weights_strategy = (
    st.tuples(st.integers(min_value=0, max_value=100), st.integers(min_value=0, max_value=100))
    .filter(lambda pair: sum(pair) <= 100)
    .map(lambda pair: Weights(100 - sum(pair), *pair))
)


@given(
    total=st.integers(min_value=0, max_value=10**11),
    drivers=drivers_strategy,
    weights=weights_strategy,
)
def test_shares_always_add_up_to_the_cost_to_the_penny(total, drivers, weights):
    shares = apportion(total, drivers, weights)
    exact = exact_shares(total, drivers, weights)
    assert sum(shares.values()) == total
    assert sum(exact.values()) == total
    for key, share in shares.items():
        assert share >= 0
        assert abs(share - exact[key]) < 1  # never a penny or more from its exact share
