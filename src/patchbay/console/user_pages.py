"""The user view: overview (balance, charts, redeem a code), usage history, keys, bots and
the model catalog. Each page reads and writes through ``accounts/`` and ``catalog/``, as the
API does; templates only lay the figures out."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from patchbay.accounts import accounts, redemptions
from patchbay.catalog import bots
from patchbay.console import queries
from patchbay.console.catalog_view import catalog_rows
from patchbay.console.sessions import Viewer
from patchbay.console.web import BASE, applied, gateway_of, optional_int, render, see_other, text
from patchbay.db import models as db
from patchbay.errors import InvalidRequest, NotFound, PermissionDenied

CHART_DAYS = 30
PAGE_SIZE = 25
PER_MILLION = Decimal(1_000_000)


def balance_of(request: Request, account_id: int) -> int:
    """The balance as the API reports it: stored, minus charges settled and not yet written."""
    book = gateway_of(request).meter.book
    return book.available(account_id) + book.accounts[account_id].holds


def chart_data(days: list[queries.Bucket], models: list[queries.Bucket]) -> dict[str, Any]:
    return {
        "days": [b.label for b in days],
        "points": [b.points for b in days],
        "calls": [b.calls for b in days],
        "models": [b.label for b in models],
        "model_points": [b.points for b in models],
        "model_calls": [b.calls for b in models],
    }


async def overview(
    request: Request, who: Viewer, session: AsyncSession, error: str | None = None
) -> Response:
    await gateway_of(request).meter.flush()  # this worker's settled calls are in the charts
    days = await queries.by_day(session, who.account_id, CHART_DAYS)
    models = await queries.by_model(session, who.account_id, CHART_DAYS)
    return render(
        request,
        "overview.html",
        who,
        balance=balance_of(request, who.account_id),
        chart=chart_data(days, models),
        models=models,
        total_points=sum(b.points for b in days),
        total_calls=sum(b.calls for b in days),
        error=error,
    )


async def redeem(request: Request, who: Viewer, session: AsyncSession, form: FormData) -> Response:
    record = await redemptions.redeem(session, who.account_id, text(form, "code"))
    await session.commit()
    gateway = gateway_of(request)
    await gateway.meter.credited(who.account_id, record.points)  # the instances' shared book
    await gateway.meter.reload()
    await gateway.announce()
    return see_other(f"{BASE}/?done=redeemed")


async def usage(
    request: Request, who: Viewer, session: AsyncSession, error: str | None = None
) -> Response:
    gateway = gateway_of(request)
    await gateway.meter.flush()
    params = request.query_params
    model, key_name = params.get("model") or None, params.get("key") or None
    before = params.get("before") or None
    retention = gateway.settings.usage_retention_days
    rows, more = await queries.history(
        session,
        who.account_id,
        model=model,
        key_name=key_name,
        before=before,
        limit=PAGE_SIZE,
        retention_days=retention,
    )
    models, keys = await queries.filter_choices(session, who.account_id, retention)
    return render(
        request,
        "usage.html",
        who,
        rows=rows,
        more=more,
        next_before=rows[-1].query_id if more and rows else None,
        paged=bool(before),
        model=model or "",
        key=key_name or "",
        models=models,
        keys=keys,
        error=error,
    )


async def keys_page(
    request: Request,
    who: Viewer,
    session: AsyncSession,
    error: str | None = None,
    created: tuple[db.ApiKey, str] | None = None,
) -> Response:
    rows = await accounts.list_keys(session, who.account_id)
    return render(request, "keys.html", who, keys=rows, created=created, error=error)


def _models_list(raw: str) -> list[str] | None:
    names = [n for n in raw.replace(",", " ").split() if n]
    return names or None


async def create_key(
    request: Request, who: Viewer, session: AsyncSession, form: FormData
) -> Response:
    name = text(form, "name") or "console"
    if len(name) > 200:
        raise InvalidRequest("name is longer than 200 characters", param="name")
    rpm, tpm, max_points = (optional_int(form, n) for n in ("rpm", "tpm", "max_points"))
    for field, value, low in (("rpm", rpm, 1), ("tpm", tpm, 1), ("max_points", max_points, 0)):
        if value is not None and value < low:
            raise InvalidRequest(f"{field} must be at least {low}", param=field)
    gateway = gateway_of(request)
    owner = await accounts.get_account(session, who.account_id)
    new = await accounts.create_key(
        session,
        owner,
        name=name,
        rpm=rpm or gateway.settings.default_rpm,
        allowed_models=_models_list(text(form, "allowed_models")),
        tpm=tpm,
        max_points=max_points,
    )
    await applied(gateway, session)
    response = await keys_page(request, who, session, created=(new.record, new.secret))
    response.status_code = 201
    return response


async def revoke_key(
    request: Request, who: Viewer, session: AsyncSession, form: FormData
) -> Response:
    key_id = int(request.path_params["key_id"])
    key = await session.get(db.ApiKey, key_id)
    if key is None or key.account_id != who.account_id:
        raise NotFound(f"API key {key_id} not found")
    await accounts.revoke_key(session, key_id)
    await applied(gateway_of(request), session)
    return see_other(f"{BASE}/keys?done=key-revoked")


async def bots_page(
    request: Request, who: Viewer, session: AsyncSession, error: str | None = None
) -> Response:
    rows = [bots.bot_json(b) for b in await bots.list_bots(session, who.account_id)]
    editing = None
    handle = request.path_params.get("handle")
    if handle is not None:
        editing = bots.bot_json(await bots.get_bot(session, who.account_id, handle))
    return render(request, "bots.html", who, bots=rows, editing=editing, error=error)


def _per_token(form: FormData, name: str) -> str | None:
    """A price typed per million tokens, as the per-token decimal string the API stores."""
    raw = text(form, name)
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        message = f"{name} must be a number (USD per million tokens)"
        raise InvalidRequest(message, param=name) from None
    if value < 0 or not value.is_finite():
        raise InvalidRequest(f"{name} must not be negative", param=name)
    return format((value / PER_MILLION).normalize(), "f")


def _bot_body(form: FormData, *, creating: bool) -> dict[str, Any]:
    settings: dict[str, Any] = {"api_type": text(form, "api_type") or "chat_completions_api"}
    for name in ("model_name", "base_url"):
        if text(form, name):
            settings[name] = text(form, name)
    if text(form, "api_key"):  # write-only: left empty, the stored key stays
        settings["api_key"] = text(form, "api_key")
    pricing = {k: _per_token(form, f"{k}_per_million") for k in ("prompt", "completion")}
    if any(pricing.values()):
        settings["pricing"] = {k: v for k, v in pricing.items() if v is not None}
    body: dict[str, Any] = {
        "description": text(form, "description"),
        "is_private": form.get("is_private") == "on",
        "api_bot_settings": settings,
    }
    if creating:
        body["handle"] = text(form, "handle")
    return body


async def create_bot(
    request: Request, who: Viewer, session: AsyncSession, form: FormData
) -> Response:
    gateway = gateway_of(request)
    allow = gateway.settings.allow_private_upstreams
    await bots.create_bot(
        session, who.account_id, _bot_body(form, creating=True), gateway.box, allow
    )
    await applied(gateway, session)
    return see_other(f"{BASE}/bots?done=bot-saved")


async def update_bot(
    request: Request, who: Viewer, session: AsyncSession, form: FormData
) -> Response:
    gateway = gateway_of(request)
    handle = request.path_params["handle"]
    allow = gateway.settings.allow_private_upstreams
    body = _bot_body(form, creating=False)
    await bots.update_bot(session, who.account_id, handle, body, gateway.box, allow)
    await applied(gateway, session)
    return see_other(f"{BASE}/bots?done=bot-saved")


async def delete_bot(
    request: Request, who: Viewer, session: AsyncSession, form: FormData
) -> Response:
    await bots.delete_bot(session, who.account_id, request.path_params["handle"])
    await applied(gateway_of(request), session)
    return see_other(f"{BASE}/bots?done=bot-deleted")


async def models_page(
    request: Request, who: Viewer, session: AsyncSession, error: str | None = None
) -> Response:
    key = await session.get(db.ApiKey, who.key_id)
    if key is None:
        raise PermissionDenied("the key of this session is gone")
    params = request.query_params
    rows, filters = catalog_rows(
        gateway_of(request).catalog,
        who,
        key.allowed_models,
        modality=params.get("modality", ""),
        min_context=params.get("min_context", ""),
        max_prompt=params.get("max_prompt", ""),
    )
    return render(request, "models.html", who, models=rows, filters=filters, error=error)
