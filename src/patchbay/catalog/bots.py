"""API bots (seed 004): a model owned by an account and backed by its own endpoint."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from patchbay.accounting.pricing import Pricing, PricingError
from patchbay.db import models as db
from patchbay.db import versions
from patchbay.errors import Conflict, InvalidRequest, NotFound
from patchbay.security.crypto import SecretBox
from patchbay.upstream.guard import check_url

HANDLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{2,63}$")
API_TYPES = ("chat_completions_api", "responses_api")
INPUTS, OUTPUTS, FEATURES = {"text", "image", "video"}, {"text"}, {"tools"}
SETTING_KEYS = {
    "model_name",
    "base_url",
    "api_key",
    "api_type",
    "max_input_tokens",
    "context_size",
    "input_modalities",
    "output_modalities",
    "supported_features",
    "param_definitions",
    "pricing",
}
MAX_JSON_BYTES = 64 * 1024


def bot_json(bot: db.Bot) -> dict[str, Any]:
    out: dict[str, Any] = {
        "handle": bot.handle,
        "description": bot.description,
        "is_private": bot.is_private,
        "api_bot_settings": dict(bot.api_bot_settings or {}),
    }
    if bot.parameter_controls is not None:
        out["parameter_controls"] = bot.parameter_controls
    return out


def _string_list(value: Any, allowed: set[str], param: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidRequest(f"{param} must be an array of strings", param=param)
    unknown = [v for v in value if v not in allowed]
    if unknown:
        raise InvalidRequest(
            f"{param}: unsupported value '{unknown[0]}' (allowed: {', '.join(sorted(allowed))})",
            param=param,
        )
    return list(dict.fromkeys(value))


def _positive(value: Any, param: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 100_000_000:
        raise InvalidRequest(f"{param} must be a positive integer", param=param)
    return value


def _check_settings(settings: dict[str, Any]) -> dict[str, Any]:
    p = "api_bot_settings"
    unknown = set(settings) - SETTING_KEYS
    if unknown:
        raise InvalidRequest(f"unknown field {p}.{sorted(unknown)[0]}", param=p)
    out: dict[str, Any] = {}
    for key, value in settings.items():
        param = f"{p}.{key}"
        if value is None or key in ("api_key", "base_url"):
            out[key] = value
        elif key == "model_name":
            if not isinstance(value, str) or not 0 < len(value) <= 256:
                raise InvalidRequest("model_name must be a string of 1-256 characters", param=param)
            out[key] = value
        elif key == "api_type":
            if value not in API_TYPES:
                raise InvalidRequest(f"api_type must be one of {', '.join(API_TYPES)}", param=param)
            out[key] = value
        elif key in ("max_input_tokens", "context_size"):
            out[key] = _positive(value, param)
        elif key in ("input_modalities", "output_modalities", "supported_features"):
            allowed = {
                "input_modalities": INPUTS,
                "output_modalities": OUTPUTS,
                "supported_features": FEATURES,
            }[key]
            out[key] = _string_list(value, allowed, param)
        elif key == "param_definitions":
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise InvalidRequest("param_definitions must be an array of objects", param=param)
            out[key] = value
        elif key == "pricing":
            if not isinstance(value, dict):
                raise InvalidRequest("pricing must be an object of decimal strings", param=param)
            try:
                out[key] = {
                    k: v for k, v in Pricing.parse(value).to_json().items() if v is not None
                }
            except PricingError as exc:
                raise InvalidRequest(str(exc), param=param) from None
    return out


def _check_top(data: dict[str, Any], partial: bool) -> None:
    unknown = set(data) - {
        "handle",
        "description",
        "is_private",
        "api_bot_settings",
        "parameter_controls",
    }
    if unknown:
        raise InvalidRequest(f"unknown field {sorted(unknown)[0]}", param=sorted(unknown)[0])
    if "description" in data and (
        not isinstance(data["description"], str) or len(data["description"]) > 5000
    ):
        raise InvalidRequest(
            "description must be a string of at most 5000 characters", param="description"
        )
    if "is_private" in data and not isinstance(data["is_private"], bool):
        raise InvalidRequest("is_private must be a boolean", param="is_private")
    if "api_bot_settings" in data and not isinstance(data["api_bot_settings"], dict):
        raise InvalidRequest("api_bot_settings must be an object", param="api_bot_settings")
    controls = data.get("parameter_controls")
    if controls is not None:
        if not isinstance(controls, dict) or controls.get("api_version", "2") != "2":
            raise InvalidRequest(
                'parameter_controls.api_version must be "2"', param="parameter_controls"
            )
    if len(orjson.dumps(data)) > MAX_JSON_BYTES:
        raise InvalidRequest("bot definition is larger than 64 KiB", param=None)


async def _apply_settings(
    bot: db.Bot, incoming: dict[str, Any], box: SecretBox, allow_private: bool
) -> None:
    checked = _check_settings(incoming)
    merged = {**(bot.api_bot_settings or {}), **checked}
    if "api_key" in merged:
        key = merged.pop("api_key")
        if "api_key" in checked:
            if key is not None and not isinstance(key, str):
                raise InvalidRequest("api_key must be a string", param="api_bot_settings.api_key")
            bot.api_key_encrypted = box.encrypt(key) if key else None
    base_url = merged.get("base_url")
    if base_url is None or not isinstance(base_url, str) or len(base_url) > 2048:
        raise InvalidRequest(
            "api_bot_settings.base_url is required (an http(s) URL)",
            param="api_bot_settings.base_url",
        )
    if "base_url" in checked:
        if allow_private:
            from patchbay.catalog.providers import check_base_url

            check_base_url(base_url, "openai")
        else:
            try:
                await check_url(base_url)
            except InvalidRequest as exc:
                exc.param = "api_bot_settings.base_url"
                raise
    merged["base_url"] = base_url.rstrip("/")
    merged.setdefault("api_type", "chat_completions_api")
    bot.api_bot_settings = {k: v for k, v in merged.items() if v is not None}


async def create_bot(
    session: AsyncSession,
    account_id: int,
    data: dict[str, Any],
    box: SecretBox,
    allow_private: bool,
) -> db.Bot:
    _check_top(data, partial=False)
    handle = data.get("handle")
    if not isinstance(handle, str) or not HANDLE.match(handle):
        raise InvalidRequest(
            "handle must be 3-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
            param="handle",
        )
    taken = await session.get(db.Bot, handle) is not None
    if taken or await session.get(db.Model, handle) is not None:
        raise Conflict(f"the handle '{handle}' is already taken", param="handle")
    now = datetime.now(UTC)
    bot = db.Bot(
        handle=handle,
        account_id=account_id,
        description=data.get("description", ""),
        is_private=data.get("is_private", False),
        api_bot_settings={},
        parameter_controls=data.get("parameter_controls"),
        created_at=now,
        updated_at=now,
    )
    await _apply_settings(bot, dict(data.get("api_bot_settings") or {}), box, allow_private)
    session.add(bot)
    await session.flush()
    await versions.bump(session, versions.CATALOG)
    return bot


async def get_bot(session: AsyncSession, account_id: int, handle: str) -> db.Bot:
    bot = await session.get(db.Bot, handle)
    if bot is None or bot.account_id != account_id:
        raise NotFound(f"bot '{handle}' not found")
    return bot


async def list_bots(session: AsyncSession, account_id: int) -> list[db.Bot]:
    query = select(db.Bot).where(db.Bot.account_id == account_id).order_by(db.Bot.handle)
    return list((await session.scalars(query)).all())


async def update_bot(
    session: AsyncSession,
    account_id: int,
    handle: str,
    data: dict[str, Any],
    box: SecretBox,
    allow_private: bool,
) -> db.Bot:
    bot = await get_bot(session, account_id, handle)
    _check_top(data, partial=True)
    if "handle" in data and data["handle"] != handle:
        raise InvalidRequest("a bot's handle cannot be changed", param="handle")
    for name in ("description", "is_private"):
        if name in data:
            setattr(bot, name, data[name])
    if "parameter_controls" in data:
        bot.parameter_controls = data["parameter_controls"]
    if "api_bot_settings" in data:
        await _apply_settings(bot, dict(data["api_bot_settings"]), box, allow_private)
    bot.updated_at = datetime.now(UTC)
    await session.flush()
    await versions.bump(session, versions.CATALOG)
    return bot


async def delete_bot(session: AsyncSession, account_id: int, handle: str) -> None:
    await session.delete(await get_bot(session, account_id, handle))
    await versions.bump(session, versions.CATALOG)
