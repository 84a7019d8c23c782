from __future__ import annotations

from decimal import Decimal

import pytest
from agentworks_events.money import price_run
from hypothesis import given
from hypothesis import strategies as st

costs = st.decimals(min_value=0, max_value=10_000, places=10, allow_nan=False, allow_infinity=False)
markups = st.decimals(min_value=5, max_value=50, places=2, allow_nan=False, allow_infinity=False)
increments = st.sampled_from([Decimal("0.01"), Decimal("0.05"), Decimal("0.25"), Decimal(1)])


@given(cost=costs, markup=markups, increment=increments)
def test_price_is_at_least_markup_times_cost_and_less_than_one_more_increment(
    cost: Decimal, markup: Decimal, increment: Decimal
) -> None:
    priced = price_run(cost, markup, increment)
    assert priced.unrounded == markup * cost
    assert priced.price >= markup * cost
    assert priced.price < markup * cost + increment
    assert priced.price % increment == 0


@given(a=costs, b=costs, markup=markups, increment=increments)
def test_price_is_monotonic_in_cost(a: Decimal, b: Decimal, markup: Decimal, increment: Decimal) -> None:
    low, high = sorted((a, b))
    assert price_run(low, markup, increment).price <= price_run(high, markup, increment).price


@given(markup=markups, increment=increments)
def test_nothing_costs_nothing(markup: Decimal, increment: Decimal) -> None:
    assert price_run(Decimal(0), markup, increment).price == 0


@pytest.mark.parametrize(
    ("cost", "price"),
    [("0.000001", "0.25"), ("0.05", "0.25"), ("0.0500001", "0.50"), ("0.1", "0.50"), ("1", "5.00"), ("1.01", "5.25")],
)
def test_examples_with_the_default_plan(cost: str, price: str) -> None:
    assert price_run(Decimal(cost)).price == Decimal(price)


@pytest.mark.parametrize(("cost", "markup", "increment"), [("1", "4.99", "0.25"), ("1", "5", "0"), ("-1", "5", "0.25")])
def test_invalid_plans_are_refused(cost: str, markup: str, increment: str) -> None:
    with pytest.raises(ValueError, match=r"must|cannot"):
        price_run(Decimal(cost), Decimal(markup), Decimal(increment))
