"""The request pipeline: the one place a model call goes through, whatever its protocol.

    authorize (model exists for the key, allowed) → limit (429) → admit (402)
      → for each route in balancer order (the one failover loop):
            same protocol as the client's?  passthrough: the body forwarded as it came
            otherwise                       translated: canonical request → adapter → edge
        an upstream fault before the first byte (refused, timeout, 5xx, 429) tries the next
      → settle (exactly once, on every exit: answer, stream end, client gone, error)

An edge only decodes its protocol into an ``Inbound`` and renders errors in its envelope.
Metering hooks in twice: ``Meter.admit`` before any upstream work, ``settle`` as soon as the
usage is known and again on every exit (it is idempotent). ``settle`` also corrects the key's
token window by what the call really used.
"""

from __future__ import annotations

import asyncio
import random
import time

from patchbay.accounts.keystore import Principal
from patchbay.asgi.replies import Reply
from patchbay.catalog.access import authorize
from patchbay.catalog.endpoints import require_endpoint
from patchbay.catalog.entries import RouteEntry
from patchbay.catalog.loader import Catalog
from patchbay.errors import GatewayError, Unavailable, UpstreamError
from patchbay.limits.base import Limiter
from patchbay.metering.call import Call
from patchbay.metering.meter import Meter
from patchbay.providers.base import Transport
from patchbay.providers.registry import adapter
from patchbay.proxy import passthrough, translated
from patchbay.proxy.admission import open_call
from patchbay.proxy.inbound import Inbound
from patchbay.routing.health import Breakers
from patchbay.upstream.errors import is_retryable


class Pipeline:
    def __init__(
        self,
        transport: Transport,
        meter: Meter,
        limiter: Limiter,
        catalog: Catalog | None = None,
        rng: random.Random | None = None,
        health: Breakers | None = None,
    ) -> None:
        self.transport = transport
        self.meter = meter
        self.limiter = limiter
        self.catalog = catalog or Catalog()
        self.rng = rng or random.Random()
        self.health = health or Breakers()
        self._pending: set[asyncio.Task[None]] = set()

    async def serve(self, principal: Principal, inbound: Inbound) -> Reply:
        model = authorize(principal, self.catalog.get(inbound.model), inbound.model)
        require_endpoint(model, "chat")  # 400 for a model that serves only other endpoints
        call, headers = await open_call(self.limiter, self.meter, principal, model, inbound)
        try:
            reply = await self._attempts(call, inbound)
        except BaseException:
            self.settle(call)
            raise
        reply.add_raw_headers(headers)
        return reply

    def routes_for(self, call: Call) -> list[RouteEntry]:
        """The routes to try, in the model's strategy order, without those cooling down or
        at their concurrency cap; none is a 503 that says when to come back."""
        model = call.model
        if not model.routes:
            raise UpstreamError(f"model '{model.id}' has no available upstream")
        now = time.time()
        routes = self.health.order(model.routes, model.strategy, self.rng, now)
        if not routes:
            error = Unavailable(
                f"every route of model '{model.id}' is cooling down after failures or at its "
                "concurrency limit; retry later"
            )
            wait = self.health.retry_after(model.routes, now)
            error.headers["retry-after"] = str(max(1, int(wait + 0.999)))
            raise error
        return routes

    def began(self, call: Call, route: RouteEntry) -> None:
        """An attempt on ``route`` starts: it counts in flight until the call is settled."""
        call.route = route
        call.route_key = route.key
        self.health.began(route.key, time.time())

    def failed(self, call: Call, route: RouteEntry, error: GatewayError) -> None:
        """The attempt ended in ``error`` before the first byte reached the client."""
        self._release(call)
        if is_retryable(error):
            self.health.failed(route.key, time.time(), error.message, error.retry_after_s)
        else:  # the upstream answered (a refusal about the request): the route is fine
            self.health.succeeded(route.key, time.time())

    def _release(self, call: Call) -> None:
        if call.route_key is not None:
            self.health.ended(call.route_key)
            call.route_key = None

    async def _attempts(self, call: Call, inbound: Inbound) -> Reply:
        """Try the routes in order until one starts answering. Inline, not a helper taking a
        callback: this is the busiest path, and every coroutine layer on it is paid again at
        each of the upstream call's suspensions."""
        routes = self.routes_for(call)
        last = len(routes) - 1
        for index, route in enumerate(routes):
            self.began(call, route)
            kind = adapter(route.provider.kind)
            native = kind.native
            try:
                if native is not None and native.protocol == inbound.protocol:
                    reply = await passthrough.forward(
                        self.transport, self.settle, call, route, native, inbound
                    )
                else:
                    reply = await translated.serve(
                        self.transport, self.settle, call, route, kind, inbound
                    )
            except GatewayError as exc:
                self.failed(call, route, exc)
                if index == last or not is_retryable(exc):
                    raise
                continue
            self.health.succeeded(route.key, time.time())
            return reply
        raise AssertionError("unreachable")

    def settle(self, call: Call) -> None:
        """Settle the call (once; later calls do nothing) and correct its token window."""
        if call.route_key is not None:  # the route's call is over (whole answer or stream)
            self._release(call)
        if call.settled:
            return
        self.meter.settle(call)
        principal = call.principal
        if not call.settled or principal.tpm is None or call.token_estimate is None:
            return
        used = call.usage.total_tokens if call.usage else call.prompt_estimate
        delta = used - call.token_estimate
        if delta:
            task = asyncio.create_task(
                self.limiter.adjust_tokens(str(principal.key_id), delta=delta)
            )
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
