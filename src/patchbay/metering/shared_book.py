"""Holds and spends shared by every instance through Redis, so several instances do not each
admit against the whole balance.

Per account one Redis hash holds the live ``balance`` (the database's, minus the charges
settled since it was loaded) and ``held`` (the holds of every instance's calls in flight); per
key with a ``max_points`` cap, ``spent`` and ``held`` likewise. Admission is one Lua script:
the call is admitted while ``balance - held > 0`` (and ``spent + held < max_points``) and its
hold is added in the same step, so no two instances can both take the last points. Settling
releases the hold and moves the charge from ``balance`` to ``spent``; a top-up adds to
``balance``.

A hash missing from Redis is loaded from the database (``HSETNX``: the first loader wins) and
lives an hour, then is loaded again: what a reload can miss is bounded by the calls in flight
and the charges not yet written at that moment (100 ms of them). A Redis fault falls back to
each instance's own book (logged once).

Bound on overspending, across any number of instances: the calls in flight when the balance
reaches zero, each by what it costs beyond its hold (``LedgerMeter`` sizes holds).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

import redis.asyncio as aioredis

log = logging.getLogger("patchbay.metering")
TTL_S = 3600

ADMIT = """
local account, key = KEYS[1], KEYS[2]
local hold, cap = tonumber(ARGV[1]), tonumber(ARGV[2])
if redis.call('EXISTS', account) == 0 then return -1 end
if cap >= 0 and redis.call('EXISTS', key) == 0 then return -1 end
local balance = tonumber(redis.call('HGET', account, 'balance') or '0')
local held = tonumber(redis.call('HGET', account, 'held') or '0')
if balance - held <= 0 then return 0 end
if cap >= 0 then
  local spent = tonumber(redis.call('HGET', key, 'spent') or '0')
  local kheld = tonumber(redis.call('HGET', key, 'held') or '0')
  if spent + kheld >= cap then return 2 end
  redis.call('HINCRBY', key, 'held', hold)
end
redis.call('HINCRBY', account, 'held', hold)
return 1
"""
SETTLE = """
local account, key = KEYS[1], KEYS[2]
local hold, charge, capped = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3] == '1'
if redis.call('EXISTS', account) == 1 then
  local held = tonumber(redis.call('HGET', account, 'held') or '0')
  redis.call('HSET', account, 'held', math.max(0, held - hold))
  redis.call('HINCRBY', account, 'balance', -charge)
end
if capped and redis.call('EXISTS', key) == 1 then
  local kheld = tonumber(redis.call('HGET', key, 'held') or '0')
  redis.call('HSET', key, 'held', math.max(0, kheld - hold))
  redis.call('HINCRBY', key, 'spent', charge)
end
return 1
"""
LOAD = """
for i, name in ipairs(KEYS) do
  local created = redis.call('HSETNX', name, ARGV[2 * i - 1], ARGV[2 * i])
  if created == 1 then
    redis.call('HSETNX', name, 'held', 0)
    redis.call('EXPIRE', name, tonumber(ARGV[#ARGV]))
  end
end
return 1
"""

Loader = Callable[[], Awaitable[tuple[int, int]]]  # (account balance, key spent) as of now


class Book(Protocol):
    """A book every instance shares: ``SharedBook`` (Redis) or ``DatabaseBook``."""

    releases_with_charges: bool  # the settlement batch deletes written calls' holds

    async def admit(
        self,
        account_id: int,
        key_id: int,
        max_points: int | None,
        hold: int,
        load: Loader,
        query_id: str = "",
    ) -> str | None: ...

    async def settle(
        self,
        account_id: int,
        key_id: int,
        capped: bool,
        hold: int,
        charge: int,
        query_id: str = "",
    ) -> None: ...

    async def credit(self, account_id: int, points: int) -> None: ...


def shared_prefix(fingerprint: str) -> str:
    """Instances sharing a database (and its secret key) share the book."""
    return f"patchbay:{fingerprint}:book"


class SharedBook:
    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._admit = client.register_script(ADMIT)
        self._settle = client.register_script(SETTLE)
        self._load = client.register_script(LOAD)

    def _keys(self, account_id: int, key_id: int) -> list[str]:
        return [f"{self.prefix}:acct:{account_id}", f"{self.prefix}:key:{key_id}"]

    async def admit(
        self,
        account_id: int,
        key_id: int,
        max_points: int | None,
        hold: int,
        load: Loader,
        query_id: str = "",
    ) -> str | None:
        """Take the hold if the account (and the key's cap) allow it; the refusal otherwise."""
        keys = self._keys(account_id, key_id)
        cap = -1 if max_points is None else max_points
        for _ in range(2):
            result = int(await self._admit(keys=keys, args=[hold, cap]))
            if result == 1:
                return None
            if result == 0:
                return "the account's point balance is exhausted"
            if result == 2:
                return "this API key has reached its max_points spend cap"
            balance, spent = await load()  # -1: not in Redis yet
            await self._load(keys=keys, args=["balance", balance, "spent", spent, TTL_S])
        raise RuntimeError("the shared book could not be loaded")

    releases_with_charges = False  # holds are released here, when a call is settled

    async def settle(
        self,
        account_id: int,
        key_id: int,
        capped: bool,
        hold: int,
        charge: int,
        query_id: str = "",
    ) -> None:
        keys = self._keys(account_id, key_id)
        await self._settle(keys=keys, args=[hold, charge, "1" if capped else "0"])

    async def credit(self, account_id: int, points: int) -> None:
        """A top-up (or adjustment) the database has committed."""
        name = self._keys(account_id, 0)[0]
        if await self.client.exists(name):
            await self.client.hincrby(name, "balance", points)
