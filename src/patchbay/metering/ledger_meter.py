"""The ledger-backed meter: admission from memory, settlement written behind.

- ``admit`` places a hold sized to the most the call can cost (prompt estimate at the prompt
  price plus its output limit at the completion price) and refuses with 402 when the account
  or the key cannot pay. No database round trip.
- ``settle`` runs once per call (the ``Call.settled`` flag): it prices the usage the upstream
  reported — or, when none came, the gateway's own count, marked ``estimated`` — releases the
  hold, and queues the charge.
- The queue is written every ``flush_interval_s`` in one transaction per batch (usage entry +
  ledger row + balance moves, idempotent by ``query_id``), and fully on shutdown.

Crash window: a ``kill -9`` loses the charges settled in the last ``flush_interval_s`` (100 ms
by default) plus a batch being written; everything written is complete (entry and charge
together or neither).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from patchbay.accounting import bpe
from patchbay.accounting.pricing import Pricing, cost, hold_cost, points
from patchbay.domain.usage import Usage
from patchbay.errors import InsufficientQuota
from patchbay.metering.book import BalanceBook
from patchbay.metering.call import Call
from patchbay.metering.plan import Charge, read_figures, read_one
from patchbay.metering.shared_book import Book
from patchbay.metering.writers import SQLAlchemyWriter, Writer

log = logging.getLogger("patchbay.metering")
DEFAULT_OUTPUT_ALLOWANCE = 4096
HOLD_OUTPUT_TOKENS = 1024  # the expected completion a hold is sized for, at most
RELOAD_PERIOD_S = 5.0
BATCH = 2000  # charges per transaction: larger batches cost less per charge


class LedgerMeter:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        points_per_usd: int,
        flush_interval_s: float = 0.1,
        writer: Writer | None = None,
        shared: Book | None = None,
        hold_output_tokens: int = HOLD_OUTPUT_TOKENS,
    ) -> None:
        self.sessions = sessions
        self.writer = writer or SQLAlchemyWriter(sessions)
        self.shared = shared  # holds and spends shared by instances (Redis), if configured
        self.hold_output_tokens = hold_output_tokens
        self._shared_failing = False
        self._pending_tasks: set[asyncio.Task[None]] = set()
        self.points_per_usd = points_per_usd
        self.flush_interval_s = flush_interval_s
        self.book = BalanceBook()
        self.queue: list[Charge] = []
        self.lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._unsure: set[str] = set()  # charges of failed writes: check whether they landed
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        await self.reload()
        self._task = asyncio.create_task(self._flush_loop())

    def _hold_points(self, call: Call, pricing: Pricing) -> int:
        """The prompt estimate and the expected completion — the output limit, but at most
        ``hold_output_tokens`` — at the model's prices. Not the worst case: an account that can
        plainly pay is admitted; a call may cost more than its hold (the overrun this allows
        is bounded by the calls in flight when the balance runs out)."""
        limit = (
            call.max_output_tokens
            or call.model.details.get("max_output_tokens")
            or DEFAULT_OUTPUT_ALLOWANCE
        )
        expected = hold_cost(
            pricing, call.prompt_estimate, min(int(limit), self.hold_output_tokens)
        )
        return points(expected, self.points_per_usd)

    def admit(self, call: Call) -> None:
        pricing = call.model.prices
        if pricing.is_free:
            call.admitted = True  # free models are always admitted (and still settled)
            return
        p = call.principal
        refusal = self.book.refusal(p.account_id, p.key_id, p.max_points)
        if refusal:
            raise InsufficientQuota(refusal)
        call.hold_points = self._hold_points(call, pricing)
        self.book.hold(p.account_id, p.key_id, call.hold_points)
        call.admitted = True

    async def reserve(self, call: Call) -> None:
        """Take the call's hold in the book every instance shares (when there is one); 402
        if the shared balance or the key's shared spend says no."""
        shared = self.shared
        if shared is None or not call.admitted or call.hold_points == 0:
            return
        p = call.principal
        try:
            refusal = await shared.admit(
                p.account_id,
                p.key_id,
                p.max_points,
                call.hold_points,
                lambda: self._fresh(call),
                query_id=call.query_id,
            )
        except Exception:
            if not self._shared_failing:
                log.warning("the shared book in Redis is unreachable; admitting from this book")
            self._shared_failing = True
            return
        self._shared_failing = False
        if refusal is not None:
            self.book.settle(p.account_id, p.key_id, call.hold_points, 0)  # release our hold
            call.admitted, call.hold_points = False, 0
            raise InsufficientQuota(refusal)
        call.shared_hold = True

    async def _fresh(self, call: Call) -> tuple[int, int]:
        """The account's balance and the key's spend as the database has them now, less this
        instance's charges not yet written."""
        p = call.principal
        async with self.sessions() as session:
            balance, spent = await read_one(session, p.account_id, p.key_id)
        account = self.book.accounts.get(p.account_id)
        key = self.book.keys.get(p.key_id)
        return (
            balance - (account.pending if account else 0),
            spent + (key.pending if key else 0),
        )

    async def credited(self, account_id: int, points_added: int) -> None:
        """A committed top-up or adjustment: the shared book moves too."""
        if self.shared is not None:
            try:
                await self.shared.credit(account_id, points_added)
            except Exception:
                log.warning("could not move the shared balance of account %s", account_id)

    def _shared_settle(self, call: Call, charged: int) -> None:
        shared = self.shared
        if shared is None:
            return
        p = call.principal
        task = asyncio.create_task(
            shared.settle(
                p.account_id,
                p.key_id,
                p.max_points is not None,
                call.hold_points,
                charged,
                query_id=call.query_id,
            )
        )
        self._pending_tasks.add(task)
        task.add_done_callback(self._pending_tasks.discard)

    def _usage(self, call: Call) -> Usage | None:
        if call.usage is not None:
            return call.usage
        if call.streamed_tokens == 0:
            return None  # nothing was produced: nothing to charge
        prompt = bpe.count_json(call.prompt) if call.prompt is not None else call.prompt_estimate
        return Usage(input_tokens=prompt, output_tokens=call.streamed_tokens, estimated=True)

    def settle(self, call: Call) -> None:
        if call.settled or not call.admitted:
            return
        call.settled = True
        usage = self._usage(call)
        pricing = call.model.prices
        breakdown = cost(usage, pricing) if usage is not None else None
        charged = points(breakdown.cost_usd, self.points_per_usd) if breakdown else 0
        call.cost_usd = breakdown.cost_usd if breakdown else Decimal(0)
        call.cost_points = charged
        p = call.principal
        self.book.settle(p.account_id, p.key_id, call.hold_points, charged)
        if call.shared_hold:
            self._shared_settle(call, charged)
        if breakdown is None:
            return
        self.queue.append(
            Charge(
                query_id=call.query_id,
                account_id=p.account_id,
                key_id=p.key_id,
                key_name=p.key_name,
                bot=call.model.id,
                created_at=int(time.time() * 1000),
                cost_usd=format(breakdown.cost_usd.normalize(), "f") if breakdown.cost_usd else "0",
                cost_points=charged,
                breakdown=breakdown.to_json(),
            )
        )

    async def flush(self) -> None:
        """Write the charges queued when the flush began (those settled meanwhile wait for the
        next one: chasing them would turn a busy meter into a stream of tiny transactions)."""
        async with self.lock:
            left = len(self.queue)
            while left > 0 and self.queue:
                batch, self.queue = self.queue[:BATCH], self.queue[BATCH:]
                left -= len(batch)
                unsure = bool(self._unsure) and any(c.query_id in self._unsure for c in batch)
                try:
                    await self.write(batch, check_written=unsure)
                except BaseException:  # cancelled too: a write cut short is retried, not lost
                    self.queue[:0] = batch  # keep them; the next flush retries (idempotent)
                    self._unsure.update(c.query_id for c in batch)  # it may have landed
                    raise
                if self._unsure:
                    self._unsure.difference_update(c.query_id for c in batch)
                for c in batch:  # all were pending here, written now or by an earlier try
                    self.book.written(c.account_id, c.key_id, c.cost_points)

    async def write(self, batch: list[Charge], *, check_written: bool) -> None:
        """One batch in one transaction, by the writer."""
        await self.writer.write(batch, check_written=check_written)

    async def reload(self) -> None:
        """Refresh stored balances and spends (after a top-up, or another instance's charges)."""
        async with self.lock:
            async with self.sessions() as session:
                balances, spends = await read_figures(session)
            self.book.load(balances, spends)

    async def _flush_loop(self) -> None:
        last_reload = time.monotonic()
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.flush_interval_s)
            if time.monotonic() - last_reload > RELOAD_PERIOD_S:
                last_reload = time.monotonic()
                try:
                    await self.reload()  # other instances' charges
                    sweep = getattr(self.shared, "sweep", None)  # expired shared holds
                    if sweep is not None:
                        await sweep()
                except Exception:
                    log.warning("could not refresh balances", exc_info=True)
            if self.queue:
                try:
                    await self.flush()
                except Exception:
                    log.warning(
                        "could not write %d charges; will retry", len(self.queue), exc_info=True
                    )

    async def aclose(self) -> None:
        # The writer is asked to stop, not cancelled: a batch being written is finished (a
        # cancelled write would leave its transaction, and SQLite's write lock, behind).
        self._stopping.set()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
        while self.queue:
            await self.flush()
        if self._pending_tasks:
            await asyncio.gather(*self._pending_tasks, return_exceptions=True)
        await self.writer.aclose()
