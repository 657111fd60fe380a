"""In-memory balances, spends and holds: admission decided without touching the database.

Per account the book keeps the balance as the database last reported it, the charges this
process settled but has not yet written (``pending``), and the holds of its requests in flight.
Per key it keeps ``spent_points`` the same way. A request is admitted while
``balance - pending - holds > 0`` and, with ``max_points``, while
``spent + pending + holds < max_points``; free models are always admitted. A balance goes below
zero only by the overrun of requests already in flight.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Tally:
    stored: int = 0  # as last read from the database
    pending: int = 0  # points charged here and not yet written
    holds: int = 0  # points held for requests in flight


@dataclass(slots=True)
class BalanceBook:
    accounts: dict[int, Tally] = field(default_factory=dict)
    keys: dict[int, Tally] = field(default_factory=dict)

    def load(self, balances: dict[int, int], spends: dict[int, int]) -> None:
        """Take the database's figures, keeping holds and unwritten charges."""
        for account_id, balance in balances.items():
            self.accounts.setdefault(account_id, Tally()).stored = balance
        for key_id, spent in spends.items():
            self.keys.setdefault(key_id, Tally()).stored = spent

    def available(self, account_id: int) -> int:
        t = self.accounts.setdefault(account_id, Tally())
        return t.stored - t.pending - t.holds

    def spent(self, key_id: int) -> int:
        t = self.keys.setdefault(key_id, Tally())
        return t.stored + t.pending + t.holds

    def refusal(self, account_id: int, key_id: int, max_points: int | None) -> str | None:
        if self.available(account_id) <= 0:
            return "the account's point balance is exhausted"
        if max_points is not None and self.spent(key_id) >= max_points:
            return "this API key has reached its max_points spend cap"
        return None

    def hold(self, account_id: int, key_id: int, points: int) -> None:
        self.accounts.setdefault(account_id, Tally()).holds += points
        self.keys.setdefault(key_id, Tally()).holds += points

    def settle(self, account_id: int, key_id: int, hold: int, charged: int) -> None:
        for tally in (
            self.accounts.setdefault(account_id, Tally()),
            self.keys.setdefault(key_id, Tally()),
        ):
            tally.holds -= hold
            tally.pending += charged

    def written(self, account_id: int, key_id: int | None, charged: int) -> None:
        """A charge reached the database: move it from pending into the stored figures."""
        account = self.accounts.setdefault(account_id, Tally())
        account.pending -= charged
        account.stored -= charged
        if key_id is not None:
            key = self.keys.setdefault(key_id, Tally())
            key.pending -= charged
            key.stored += charged
