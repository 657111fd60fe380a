"""Signing in with an API key (a user's, or the admin key for the admin view) and out."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from patchbay.console import sessions, throttle
from patchbay.console.web import BASE, MAX_FORM_FIELDS, gateway_of, render, see_other
from patchbay.errors import AuthenticationFailed

LOGIN_COOKIE_PATH = f"{BASE}/login"


def _https(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded.lower() == "https"


def _login_page(request: Request, status: int = 200, error: str | None = None) -> Response:
    token = sessions.new_login_csrf()
    response = render(request, "login.html", None, status, csrf=token, error=error)
    response.set_cookie(
        sessions.LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        path=LOGIN_COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=_https(request),
    )
    return response


async def login_form(request: Request) -> Response:
    async with gateway_of(request).sessions() as session:
        if await sessions.viewer(session, request.cookies.get(sessions.COOKIE)):
            return see_other(f"{BASE}/")
    return _login_page(request)


async def login(request: Request) -> Response:
    gateway = gateway_of(request)
    form = await request.form(max_fields=MAX_FORM_FIELDS, max_files=0)
    given = form.get("csrf")
    expected = request.cookies.get(sessions.LOGIN_CSRF_COOKIE)
    if not sessions.same_token(expected, given if isinstance(given, str) else None):
        return _login_page(request, 403, "The sign-in form expired; please try again.")
    per_minute = gateway.settings.console_sign_in_rpm
    wait = await throttle.allow_sign_in(gateway.limiter, request, per_minute)
    if wait is not None:
        response = _login_page(request, 429, f"Too many sign-in attempts; wait {wait:.0f} s.")
        response.headers["retry-after"] = str(int(wait + 0.999))
        return response
    key = form.get("api_key")
    try:
        principal = await gateway.keys.authenticate(key.strip() if isinstance(key, str) else "")
    except AuthenticationFailed:
        return _login_page(request, 401, "That API key is not valid.")
    async with gateway.sessions() as session:
        token = await sessions.open_session(session, principal.account_id, principal.key_id)
        await session.commit()
    response = see_other(f"{BASE}/")
    response.set_cookie(
        sessions.COOKIE,
        token,
        max_age=int(sessions.LIFETIME.total_seconds()),
        path=BASE,
        httponly=True,
        samesite="strict",
        secure=_https(request),
    )
    response.delete_cookie(sessions.LOGIN_CSRF_COOKIE, path=LOGIN_COOKIE_PATH)
    return response


async def logout(request: Request) -> Response:
    token = request.cookies.get(sessions.COOKIE)
    async with gateway_of(request).sessions() as session:
        who = await sessions.viewer(session, token)
        if who is not None:
            form = await request.form(max_fields=MAX_FORM_FIELDS, max_files=0)
            given = form.get("csrf")
            if not sessions.same_token(who.csrf, given if isinstance(given, str) else None):
                return render(request, "error.html", who, 403, title="This form has expired")
        await sessions.close_session(session, token)
        await session.commit()
    response = see_other(f"{BASE}/login?done=signed-out")
    response.delete_cookie(sessions.COOKIE, path=BASE)
    return response
