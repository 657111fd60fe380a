"""The admin view: accounts (create, credit), providers and models with their routes, usage
across accounts, and redemption codes (create — the codes shown once — and list)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from patchbay.accounts import accounts, redemptions
from patchbay.catalog import models as catalog_models
from patchbay.catalog import providers as catalog_providers
from patchbay.console import queries
from patchbay.console.catalog_view import per_million
from patchbay.console.sessions import Viewer
from patchbay.console.user_pages import CHART_DAYS, chart_data
from patchbay.console.web import BASE, applied, gateway_of, optional_int, render, see_other, text
from patchbay.errors import InvalidRequest


async def accounts_page(
    request: Request, who: Viewer, session: AsyncSession, error: str | None = None
) -> Response:
    rows = await accounts.list_accounts(session)
    book = gateway_of(request).meter.book
    balances = {a.id: book.available(a.id) + book.accounts[a.id].holds for a in rows}
    return render(
        request, "admin_accounts.html", who, accounts=rows, balances=balances, error=error
    )


async def create_account(
    request: Request, who: Viewer, session: AsyncSession, form: FormData
) -> Response:
    name = text(form, "name")
    if not name or len(name) > 200:
        raise InvalidRequest("name must be 1-200 characters", param="name")
    role = text(form, "role") or "user"
    points = optional_int(form, "points") or 0
    await accounts.create_account(session, name, role, points)
    await applied(gateway_of(request), session)
    return see_other(f"{BASE}/admin/accounts?done=account-created")


async def credit(request: Request, who: Viewer, session: AsyncSession, form: FormData) -> Response:
    account = await accounts.get_account(session, int(request.path_params["account_id"]))
    points = optional_int(form, "points")
    if points is None:
        raise InvalidRequest("points are required", param="points")
    await accounts.credit(session, account, points, text(form, "note") or None)
    await applied(gateway_of(request), session)
    await gateway_of(request).meter.credited(account.id, points)  # the instances' shared book
    return see_other(f"{BASE}/admin/accounts?done=credited")


def _route_rows(request: Request) -> list[dict[str, Any]]:
    """Every route of the catalog in memory with its breaker's view (``GET /admin/routes``)."""
    gateway = gateway_of(request)
    health = gateway.pipeline.health.snapshot(time.time())
    rows = []
    for model in sorted(gateway.catalog.models.values(), key=lambda m: m.id):
        if model.is_bot:
            continue
        for route in model.routes:
            state = health.get(route.key, {})
            until = state.get("cooldown_until")
            rows.append(
                {
                    "model": model.id,
                    "provider": route.provider.name,
                    "upstream": route.upstream_model,
                    "weight": route.weight,
                    "state": state.get("state", "closed"),
                    "in_a_row": state.get("consecutive_failures", 0),
                    "failures": state.get("failures", 0),
                    "rate": state.get("recent_failure_rate", 0.0),
                    "until": datetime.fromtimestamp(until, UTC) if until else None,
                    "in_flight": state.get("in_flight", 0),
                    "last_error": state.get("last_error"),
                }
            )
    return rows


async def catalog_page(
    request: Request, who: Viewer, session: AsyncSession, error: str | None = None
) -> Response:
    providers = [
        catalog_providers.provider_json(p) for p in await catalog_providers.list_providers(session)
    ]
    models = [
        await catalog_models.model_json(session, m)
        for m in await catalog_models.list_models(session)
    ]
    for model in models:
        pricing = model.get("pricing") or {}
        model["prompt_per_million"] = per_million(pricing.get("prompt"))
        model["completion_per_million"] = per_million(pricing.get("completion"))
    return render(
        request,
        "admin_catalog.html",
        who,
        providers=providers,
        models=models,
        routes=_route_rows(request),
        error=error,
    )


async def usage_page(
    request: Request, who: Viewer, session: AsyncSession, error: str | None = None
) -> Response:
    await gateway_of(request).meter.flush()
    days = await queries.by_day(session, None, CHART_DAYS)
    models = await queries.by_model(session, None, CHART_DAYS)
    by_account = await queries.by_account(session, CHART_DAYS)
    return render(
        request,
        "admin_usage.html",
        who,
        chart=chart_data(days, models),
        models=models,
        by_account=by_account,
        error=error,
    )


async def codes_page(
    request: Request,
    who: Viewer,
    session: AsyncSession,
    error: str | None = None,
    created: list[redemptions.NewCode] | None = None,
) -> Response:
    rows = [redemptions.code_json(r) for r in await redemptions.list_codes(session)]
    return render(request, "admin_codes.html", who, codes=rows, created=created, error=error)


async def create_codes(
    request: Request, who: Viewer, session: AsyncSession, form: FormData
) -> Response:
    points = optional_int(form, "points")
    if points is None:
        raise InvalidRequest("points are required", param="points")
    count = optional_int(form, "count") or 1
    days = optional_int(form, "expires_in_days")
    if days is not None and days < 1:
        raise InvalidRequest("expires in days must be at least 1", param="expires_in_days")
    expires = datetime.now(UTC) + timedelta(days=days) if days else None
    made = await redemptions.create_codes(
        session, points=points, count=count, expires_at=expires, name=text(form, "name") or None
    )
    await session.commit()
    response = await codes_page(request, who, session, created=made)
    response.status_code = 201
    return response
