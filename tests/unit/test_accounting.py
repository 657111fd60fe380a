from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patchbay.accounting import tokens
from patchbay.accounting.pricing import Pricing, PricingError, cost, points
from patchbay.accounting.query_ids import new_query_id
from patchbay.domain.usage import Usage


@pytest.mark.parametrize(
    ("usage", "prices", "expected"),
    [
        (Usage(1000, 500), {"prompt": "0.0000026", "completion": "0.000013"}, "0.0091"),
        (Usage(10, 0), {"prompt": "0.000001", "request": "0.01"}, "0.01001"),
        (
            Usage(100, 50, cached_input_tokens=40),
            {"prompt": "0.000002", "completion": "0.00001", "cache_read": "0.0000005"},
            "0.00064",
        ),
        (
            Usage(100, 50, reasoning_tokens=20),
            {"completion": "0.00001", "reasoning": "0.00002"},
            "0.0007",
        ),
        (Usage(100, 0, image_tokens=60), {"prompt": "0.000001", "image": "0.00001"}, "0.00064"),
        (Usage(100, 50, cached_input_tokens=40), {"prompt": "0.000002"}, "0.0002"),
        (Usage(5, 5), {}, "0"),
    ],
)
def test_cost_by_kind(usage: Usage, prices: dict[str, str], expected: str) -> None:
    assert cost(usage, Pricing.parse(prices)).cost_usd == Decimal(expected)


@pytest.mark.parametrize(
    ("usd", "per", "expected"),
    [
        ("0.0091", 100_000, 910),
        ("0.0000001", 100_000, 1),
        ("0", 100_000, 0),
        ("1", 100_000, 100_000),
        ("0.000010001", 100_000, 2),
    ],
)
def test_points_round_up(usd: str, per: int, expected: int) -> None:
    assert points(Decimal(usd), per) == expected


@pytest.mark.parametrize(
    "bad",
    [
        {"prompt": 0.1},
        {"prompt": "-1"},
        {"prompt": "abc"},
        {"prompt": "NaN"},
        {"tip": "1"},
        {"prompt": "Infinity"},
    ],
)
def test_bad_prices_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(PricingError):
        Pricing.parse(bad)


def test_pricing_json_keeps_decimal_strings() -> None:
    assert Pricing.parse({"prompt": "0.0000026", "completion": "0.000013"}).to_json() == {
        "prompt": "0.0000026",
        "completion": "0.000013",
        "image": None,
        "request": None,
    }


@given(st.text())
def test_token_pieces_rebuild_the_text(text: str) -> None:
    pieces = tokens.split_tokens(text)
    assert "".join(pieces) == text
    assert tokens.count_text(text) == len(pieces)


def test_query_ids_sort_in_creation_order() -> None:
    ids = [new_query_id() for _ in range(20_000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(i.startswith("q_") and len(i) == 28 for i in ids[:10])
