"""SQLite settlement statement sizes: every row written once, few distinct statements."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from patchbay.db.ledger_sql import SQLITE_CHUNKS
from patchbay.db.ledger_sql import chunks as _chunks


@given(st.integers(0, 5000), st.sampled_from([5, 10]))
def test_chunks_cover_every_row_with_fixed_sizes(count: int, width: int) -> None:
    sizes = _chunks(count, width)
    assert sum(sizes) == count
    assert set(sizes) <= set(SQLITE_CHUNKS)
    assert sizes == sorted(sizes, reverse=True)
    assert len(sizes) <= count // 256 + 3 * 7 + 1  # at most 7 of each smaller size
