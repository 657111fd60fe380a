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


def _reference_base32(value: int, length: int) -> str:
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    return "".join(alphabet[(value >> (5 * i)) & 31] for i in reversed(range(length)))


@given(st.integers(min_value=0, max_value=2**48 - 1), st.integers(min_value=0, max_value=2**80 - 1))
def test_query_id_encoding_is_crockford_base32(ms: int, rand: int) -> None:
    from patchbay.accounting import query_ids

    assert query_ids._encode(ms, 10) == _reference_base32(ms, 10)
    assert query_ids._encode(rand, 16) == _reference_base32(rand, 16)
    assert query_ids._encode_80(rand) == _reference_base32(rand, 16)


prices_strategy = st.dictionaries(
    st.sampled_from(["prompt", "completion", "request", "image", "cache_read", "reasoning"]),
    st.decimals(min_value=0, max_value=1, places=9, allow_nan=False).map(str),
)


@given(prices_strategy, st.integers(0, 10**6), st.integers(0, 10**6))
def test_hold_cost_is_the_cost_of_the_worst_usage(
    prices: dict[str, str], prompt: int, output: int
) -> None:
    from patchbay.accounting.pricing import hold_cost

    pricing = Pricing.parse(prices)
    assert hold_cost(pricing, prompt, output) == cost(Usage(prompt, output), pricing).cost_usd
    assert pricing.is_free == all(Decimal(v) == 0 for v in prices.values())
