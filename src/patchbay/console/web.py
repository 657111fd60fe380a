"""What every console page shares: the templates, the security headers, the signed-in viewer,
CSRF checks on every form, and putting a form's error back on its page."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from patchbay.console import sessions
from patchbay.console.sessions import Viewer
from patchbay.errors import GatewayError, InvalidRequest
from patchbay.runtime.gateway import Gateway

BASE = "/ui"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}
MAX_FORM_FIELDS = 64
# what a page says after a form succeeded (the redirect names one; no text from the URL)
MESSAGES = {
    "key-revoked": "The key was revoked.",
    "bot-saved": "The bot was saved.",
    "bot-deleted": "The bot was deleted.",
    "redeemed": "The code was redeemed: your balance went up.",
    "account-created": "The account was created.",
    "credited": "The account was credited.",
    "signed-out": "You are signed out.",
}

templates = Environment(
    loader=PackageLoader("patchbay.console", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _utc(unix_ms: int) -> str:
    return datetime.fromtimestamp(unix_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


templates.filters["utc"] = _utc

View = Callable[..., Awaitable[Response]]
Action = Callable[[Request, Viewer, AsyncSession, FormData], Awaitable[Response]]


def gateway_of(request: Request) -> Gateway:
    return request.app.state.gateway  # type: ignore[no-any-return]


def secure(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response


def render(
    request: Request, name: str, viewer: Viewer | None, status: int = 200, **context: Any
) -> Response:
    message = MESSAGES.get(request.query_params.get("done", ""))
    context.setdefault("error", None)
    html = templates.get_template(name).render(
        base=BASE, viewer=viewer, message=message, path=request.url.path, **context
    )
    return secure(HTMLResponse(html, status_code=status))


def see_other(url: str) -> Response:
    return secure(RedirectResponse(url, status_code=303))


async def applied(gateway: Gateway, session: AsyncSession) -> None:
    """Commit, then refresh this worker's caches (others follow the cluster counters), as the
    admin API does after a write."""
    await session.commit()
    await gateway.reload_catalog()
    await gateway.meter.reload()
    gateway.keys.invalidate()
    await gateway.announce()


def page(view: View, *, admin: bool = False) -> Callable[[Request], Awaitable[Response]]:
    """A signed-in page: ``view(request, viewer, session)``."""

    async def endpoint(request: Request) -> Response:
        async with gateway_of(request).sessions() as session:
            who = await sessions.viewer(session, request.cookies.get(sessions.COOKIE))
            if who is None:
                return see_other(f"{BASE}/login")
            if admin and not who.is_admin:
                return render(request, "error.html", who, 403, title="Admins only")
            return await view(request, who, session)

    return endpoint


def action(
    act: Action, back: View, *, admin: bool = False
) -> Callable[[Request], Awaitable[Response]]:
    """A form's POST: signed in, CSRF checked; a refused change puts the form's page back
    with the reason (``back(request, viewer, session, error=...)``)."""

    async def endpoint(request: Request) -> Response:
        gateway = gateway_of(request)
        async with gateway.sessions() as session:
            who = await sessions.viewer(session, request.cookies.get(sessions.COOKIE))
            if who is None:
                return see_other(f"{BASE}/login")
            if admin and not who.is_admin:
                return render(request, "error.html", who, 403, title="Admins only")
            form = await request.form(max_fields=MAX_FORM_FIELDS, max_files=0)
            token = form.get("csrf")
            if not sessions.same_token(who.csrf, token if isinstance(token, str) else None):
                return render(request, "error.html", who, 403, title="This form has expired")
            try:
                return await act(request, who, session, form)
            except GatewayError as exc:
                await session.rollback()
                response = await back(request, who, session, error=exc.message)
                response.status_code = exc.status
                return response

    return endpoint


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def optional_int(form: FormData, name: str) -> int | None:
    raw = text(form, name)
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        message = f"{name.replace('_', ' ')} must be a whole number"
        raise InvalidRequest(message, param=name) from None
