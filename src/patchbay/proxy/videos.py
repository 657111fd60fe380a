"""Video generation as asynchronous tasks (``/v1/videos``), in OpenAI's shape.

A task is created through the usual call path (authorize, the model serves ``videos``, limit,
admit, route with failover), stored in ``video_tasks`` under the caller's account, and answered
with the gateway's own id; creating it charges nothing (the hold is released). Its state lives
in the database, so it survives a restart and every instance sees it: looking a task up
refreshes it from its upstream while it runs, and a background loop (``poll``) refreshes the
running ones of every account.

Completion is charged exactly once: the task moves to ``completed`` by a conditional update
(only from ``queued`` or ``in_progress``) in the same transaction as its charge — seconds of
video at ``pricing.second`` plus ``pricing.request`` — whose usage entry is keyed by the
``query_id`` the task got when created. Whichever instance wins the update charges; a failed
task is never charged.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import AsyncGenerator
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from patchbay.accounting.pricing import Pricing, cost, points
from patchbay.accounts.keystore import Principal
from patchbay.asgi.replies import BytesReply, Reply, json_reply
from patchbay.asgi.sse import SSEResponse
from patchbay.catalog.entries import RouteEntry
from patchbay.db import models as db
from patchbay.db import versions
from patchbay.domain.usage import Usage
from patchbay.errors import GatewayError, InvalidRequest, NotFound, UpstreamError
from patchbay.metering.plan import Charge
from patchbay.metering.writers import write_batch
from patchbay.providers.endpoint_registry import endpoint_adapter
from patchbay.providers.endpoints.base import Answer, EndpointRequest
from patchbay.proxy.endpoint_calls import EndpointCalls

log = logging.getLogger("patchbay.videos")
RUNNING = ("queued", "in_progress")
STATES = (*RUNNING, "completed", "failed")
POLL_BATCH = 20


def _now() -> int:
    return int(time.time() * 1000)


def view(task: db.VideoTask) -> dict[str, Any]:
    """The task as OpenAI's ``video`` object, under the gateway's id and the client's model."""
    params = (task.request or {}).get("params") or {}
    out: dict[str, Any] = {
        "seconds": str(params.get("seconds") or "4"),
        "size": str(params.get("size") or "720x1280"),
        "prompt": params.get("prompt"),
        **(task.result or {}),
    }
    out.update(
        id=task.id,
        object="video",
        model=task.model,
        status=task.status,
        progress=task.progress,
        created_at=task.created_at // 1000,
        completed_at=task.completed_at // 1000 if task.completed_at else None,
        error=task.error,
    )
    return out


class Videos:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], calls: EndpointCalls, points_per_usd: int
    ) -> None:
        self.sessions = sessions
        self.calls = calls
        self.points_per_usd = points_per_usd

    async def create(self, principal: Principal, request: EndpointRequest, body_size: int) -> Reply:
        calls = self.calls
        call, headers = await calls.open(principal, request, body_size, None)
        try:
            answer = await calls.attempt(call, request)
            if answer.status >= 400 or answer.data is None:
                return calls.reply(call, request, answer, None)
            upstream_id = answer.data.get("id")
            if not isinstance(upstream_id, str) or call.route is None:
                raise UpstreamError("the upstream answered a video task without an id")
            now = _now()
            status = answer.data.get("status")
            task = db.VideoTask(
                id="video_" + secrets.token_hex(16),
                account_id=principal.account_id,
                api_key_id=principal.key_id,
                model=call.model.id,
                provider=call.route.provider.name,
                upstream_id=upstream_id,
                status=status if status in RUNNING else "queued",
                progress=int(answer.data.get("progress") or 0),
                request={"params": request.body, "upstream_model": call.route.upstream_model},
                result=answer.data,
                query_id=call.query_id,
                created_at=now,
                updated_at=now,
            )
            async with self.sessions() as session, session.begin():
                session.add(task)
        finally:
            self.calls.pipeline.settle(call)  # nothing is charged until it completes
        reply = json_reply(view(task))
        reply.add_raw_headers(headers)
        return reply

    async def _owned(self, principal: Principal, video_id: str) -> db.VideoTask:
        async with self.sessions() as session:
            task = await session.get(db.VideoTask, video_id)
        if task is None or task.account_id != principal.account_id:
            raise NotFound(f"No video found with id '{video_id}'", param="video_id")
        return task

    async def retrieve(self, principal: Principal, video_id: str) -> Reply:
        task = await self._owned(principal, video_id)
        if task.status in RUNNING:
            task = await self.refresh(task)
        return json_reply(view(task))

    async def content(self, principal: Principal, video_id: str, variant: str | None) -> Reply:
        task = await self._owned(principal, video_id)
        if task.status in RUNNING:
            task = await self.refresh(task)
        if task.status != "completed":
            raise InvalidRequest(f"video '{video_id}' is {task.status}: it has no content")
        route, adapter = self._route(task)
        answer = await adapter.video(
            self.calls.transport, route, task.upstream_id or "", variant or "video"
        )
        if answer.status >= 400 or answer.chunks is None:
            return BytesReply(answer.raw or b"", answer.status, None, answer.content_type.encode())
        return SSEResponse(_relay_bytes(answer), media_type=answer.content_type.encode())

    def _route(self, task: db.VideoTask) -> tuple[RouteEntry, Any]:
        provider = self.calls.pipeline.catalog.providers.get(task.provider)
        adapter = endpoint_adapter(provider.kind) if provider is not None else None
        if provider is None or adapter is None:
            raise UpstreamError(f"the upstream of video '{task.id}' is no longer configured")
        upstream_model = (task.request or {}).get("upstream_model") or task.model
        return RouteEntry(provider, upstream_model), adapter

    async def refresh(self, task: db.VideoTask) -> db.VideoTask:
        """Ask the task's upstream how it is doing and record it (charging a completion)."""
        try:
            route, adapter = self._route(task)
            answer: Answer = await adapter.video(
                self.calls.transport, route, task.upstream_id or "", None
            )
        except GatewayError as exc:
            log.warning("could not refresh video %s: %s", task.id, exc.message)
            return task
        data = answer.data
        if answer.status >= 400 or data is None:
            log.warning(
                "upstream refused the state of video %s (status %d)", task.id, answer.status
            )
            return task
        status = data.get("status") if data.get("status") in STATES else task.status
        async with self.sessions() as session, session.begin():
            changes: dict[str, Any] = {
                "status": status,
                "progress": 100 if status == "completed" else int(data.get("progress") or 0),
                "result": data,
                "updated_at": _now(),
            }
            if status == "completed":
                changes["completed_at"] = _now()
            if status == "failed":
                changes["error"] = data.get("error") or {
                    "code": "failed",
                    "message": "the video failed",
                }
            moved = await session.execute(
                update(db.VideoTask)
                .where(db.VideoTask.id == task.id, db.VideoTask.status.in_(RUNNING))
                .values(**changes)
            )
            if status == "completed" and moved.rowcount == 1:  # type: ignore[attr-defined]
                await self._charge(session, task, data)
        async with self.sessions() as session:
            fresh = await session.get(db.VideoTask, task.id)
        return fresh or task

    async def _charge(
        self, session: AsyncSession, task: db.VideoTask, data: dict[str, Any]
    ) -> None:
        model = self.calls.pipeline.catalog.get(task.model)
        pricing = model.prices if model is not None else Pricing()
        params = (task.request or {}).get("params") or {}
        raw = str(data.get("seconds") or params.get("seconds") or "0")
        seconds = int(float(raw)) if raw.replace(".", "", 1).isdigit() else 0
        breakdown = cost(Usage(seconds=seconds), pricing)
        charged = points(breakdown.cost_usd, self.points_per_usd)
        key = await session.get(db.ApiKey, task.api_key_id) if task.api_key_id else None
        charge = Charge(
            query_id=task.query_id or task.id,
            account_id=task.account_id,
            key_id=task.api_key_id or 0,
            key_name=key.name if key is not None else "",
            bot=task.model,
            created_at=_now(),
            cost_usd=format(breakdown.cost_usd.normalize(), "f") if breakdown.cost_usd else "0",
            cost_points=charged,
            breakdown=breakdown.to_json(),
        )
        await write_batch(session, [charge], check_written=True)
        await versions.bump(session, versions.BALANCES)

    async def poll(self) -> int:
        """Refresh the running tasks that waited longest (every account's); how many."""
        async with self.sessions() as session:
            tasks = (
                await session.scalars(
                    select(db.VideoTask)
                    .where(db.VideoTask.status.in_(RUNNING))
                    .order_by(db.VideoTask.updated_at)
                    .limit(POLL_BATCH)
                )
            ).all()
        for task in tasks:
            await self.refresh(task)
        return len(tasks)


async def _relay_bytes(answer: Answer) -> AsyncGenerator[bytes, None]:
    chunks = answer.chunks
    assert chunks is not None
    try:
        async for chunk in chunks:
            yield chunk
    except GatewayError:
        return  # the upstream broke off: the client sees a short body
    finally:
        close = getattr(chunks, "aclose", None)
        if close is not None:
            await close()
