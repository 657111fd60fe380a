"""What every non-chat model endpoint's edge does: authenticate, read the body (JSON, or a
multipart form read as it streams in), make the ``EndpointRequest``, hand it to the call path
and render errors in the OpenAI envelope.

Uploads: the form's text fields are kept, its files spooled (memory, then disk) as they
arrive, and the body limit is enforced while reading (a declared ``Content-Length`` over it is
refused before anything is read). Admission sizes an upload by its text fields: file bytes are
not prompt tokens, and would otherwise inflate the hold and the ``tpm`` estimate. When the
``model`` field comes before the files, as the OpenAI SDK sends it, the key's right to the
model and the model's endpoints are checked before the files are read, so a refused upload is
not read at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from patchbay.accounts.keystore import Principal
from patchbay.api.exchange import ClientGone, Exchange
from patchbay.api.http import error_response
from patchbay.asgi.replies import Reply
from patchbay.errors import GatewayError, InvalidRequest, RequestTooLarge, Unavailable
from patchbay.protocols.envelopes import Protocol
from patchbay.providers.endpoints.base import EndpointRequest
from patchbay.providers.endpoints.multipart import Form, FormError, FormParser, boundary_of
from patchbay.proxy.endpoint_calls import EndpointCalls
from patchbay.proxy.videos import Videos

Handler = Callable[[Principal, EndpointRequest, int], Awaitable[Reply]]


def calls(exchange: Exchange) -> EndpointCalls:
    found = exchange.gateway.endpoints
    if found is None:
        raise Unavailable("the gateway is starting")
    return found


def videos(exchange: Exchange) -> Videos:
    found = exchange.gateway.videos
    if found is None:
        raise Unavailable("the gateway is starting")
    return found


TEXT_INPUTS = {"embeddings": "input", "completions": "prompt", "moderations": "input"}


def _is_tokens(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(i, int) and not isinstance(i, bool) for i in value
    )


def check_input(endpoint: str, body: dict[str, Any]) -> None:
    """The shapes the API takes for ``input``/``prompt``: a string, strings, a token array or
    token arrays (moderations: also content objects); anything else is a 400 naming it."""
    name = TEXT_INPUTS.get(endpoint)
    value = body.get(name) if name else None
    if name is None or value is None or isinstance(value, str) or _is_tokens(value):
        return
    if isinstance(value, list) and (
        all(isinstance(i, str) for i in value)
        or all(_is_tokens(i) for i in value)
        or (endpoint == "moderations" and all(isinstance(i, dict) for i in value))
    ):
        return
    raise InvalidRequest(
        f"{name} must be a string, an array of strings, or token arrays", param=name
    )


def model_of(body: dict[str, Any], default: str | None) -> str:
    model = body.get("model") or default
    if not isinstance(model, str) or not model:
        raise InvalidRequest("model is required", param="model")
    return model


async def read_form(
    exchange: Exchange, limit: int, on_model: Callable[[str], None] | None = None
) -> Form:
    """The multipart body, files spooled, ``limit`` enforced as it is read."""
    try:
        parser = FormParser(boundary_of(exchange.header(b"content-type") or ""))
    except FormError as exc:
        raise InvalidRequest(str(exc)) from None
    declared = exchange.content_length
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestTooLarge(f"request body exceeds {limit} bytes")
    form, current, seen = Form(), None, 0
    receive = exchange.receive  # the hot path's ASGI receive (its deadline), read as it streams
    try:
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone()
            chunk: bytes = message.get("body", b"")
            more = bool(message.get("more_body"))
            seen += len(chunk)
            if seen > limit:
                raise RequestTooLarge(f"request body exceeds {limit} bytes")
            for kind, value in parser.feed(chunk):
                if kind == "field":
                    form.fields.append(value)
                    if value[0] == "model" and on_model is not None:
                        on_model(value[1])
                elif kind == "file":
                    current = value
                    form.files.append(value)
                elif kind == "data" and current is not None:
                    current.write(value)
                elif kind == "end":
                    current = None
        parser.finish()
    except FormError as exc:
        form.close()
        raise InvalidRequest(str(exc)) from None
    except BaseException:
        form.close()
        raise
    exchange.body_size = seen
    return form


async def serve(
    exchange: Exchange,
    endpoint: str,
    path: str,
    handler: Handler | None = None,
    *,
    default_model: str | None = None,
    max_output: Callable[[dict[str, Any]], int | None] | None = None,
    envelope: Protocol = "openai",
) -> Reply:
    """One call of ``endpoint``: JSON, or a form when the client sent one."""
    gateway = exchange.gateway
    form: Form | None = None
    try:
        principal = await gateway.keys.authenticate(exchange.api_key())
        limit = gateway.settings.max_body_bytes
        path_calls = calls(exchange)
        if (exchange.header(b"content-type") or "").startswith("multipart/"):

            def precheck(model: str) -> None:
                path_calls.model_for(principal, model, endpoint)

            form = await read_form(exchange, limit, precheck)
            body = form.values()
            size = sum(len(name) + len(value) for name, value in form.fields)
        else:
            body = await exchange.json_object(limit)
            size = exchange.body_size
            check_input(endpoint, body)
        request = EndpointRequest(
            endpoint,
            path,
            model_of(body, default_model),
            body,
            form=form,
            stream=body.get("stream") in (True, "true", "True"),
        )
        if handler is not None:
            return await handler(principal, request, size)
        limit_tokens = max_output(body) if max_output is not None else None
        return await path_calls.serve(principal, request, size, limit_tokens)
    except GatewayError as exc:
        return error_response(exc, envelope)
    finally:
        if form is not None:
            form.close()
