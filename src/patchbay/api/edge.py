"""What every model-call edge does around its protocol: authenticate, read the body, let the
protocol decode it into an ``Inbound``, hand it to the pipeline, and render any error in the
protocol's envelope. Adding a protocol is one ``Reader`` and one line in ``app.serving_app``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from patchbay.accounts.keystore import Principal
from patchbay.api.exchange import Exchange
from patchbay.api.http import error_response
from patchbay.asgi.replies import Reply
from patchbay.errors import GatewayError, InvalidRequest, Unavailable
from patchbay.protocols.envelopes import Protocol
from patchbay.protocols.errors import RequestInvalid
from patchbay.proxy.inbound import Inbound

# a protocol's reader: its body → an Inbound (awaitable when it needs I/O, as Responses does)
Reader = Callable[[Exchange, dict[str, Any], Principal], Inbound | Awaitable[Inbound]]


async def handle(exchange: Exchange, read: Reader, envelope: Protocol) -> Reply:
    gateway = exchange.gateway
    try:
        principal = await gateway.keys.authenticate(exchange.api_key())
        body = await exchange.json_object(gateway.settings.max_body_bytes)
        try:
            inbound = read(exchange, body, principal)
            if not isinstance(inbound, Inbound):
                inbound = await inbound
            return await gateway.pipeline.serve(principal, inbound)
        except RequestInvalid as exc:
            raise InvalidRequest(exc.message, param=exc.param) from None
    except GatewayError as exc:
        return error_response(exc, envelope)


OUTAGES = (DBAPIError, PoolTimeout, OSError)  # the database (or a socket) is not answering
OUTAGE_STATES = ("08", "53", "57P")


def is_outage(exc: BaseException) -> bool:
    """The database unreachable, or its connection lost mid-statement; its other errors
    (data, integrity, a bad statement) are the gateway's own."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout | OSError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    state = str(getattr(exc.orig, "sqlstate", None) or "")
    # SQLSTATE 08: connection exception; 53: out of resources (connections); 57P: shutting
    # down, starting up, restarted by the operator
    return bool(exc.connection_invalidated) or state.startswith(OUTAGE_STATES)


def unexpected(exc: BaseException) -> GatewayError:
    """What an exception no layer answered becomes: an outage of the database is a 503 the
    client may retry (``Retry-After``), anything else the gateway's own failure (500)."""
    if is_outage(exc):
        error: GatewayError = Unavailable("the gateway's database is unavailable; retry shortly")
        error.headers["retry-after"] = "1"
        return error
    return GatewayError("the gateway failed to handle this request")


def require(condition: bool, message: str, param: str) -> None:
    """The few checks an edge makes before routing (the official APIs make them too)."""
    if not condition:
        raise RequestInvalid(message, param)


def positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
