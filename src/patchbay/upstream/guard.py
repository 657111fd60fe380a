"""Address rules for user-supplied upstreams (bots): no loopback, private, link-local (cloud
metadata included), multicast, reserved or unspecified addresses, unless the operator allows
private upstreams. Checked when a bot is saved and again on every connection (the resolver
below), because DNS answers can change between the two."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver
from aiohttp.resolver import DefaultResolver

from patchbay.errors import InvalidRequest


class RefusedAddress(InvalidRequest):
    pass


def refused(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return bool(
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def literal_host(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


async def check_url(url: str) -> None:
    """Refuse ``url`` unless it is http(s) and every address its host resolves to is public."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequest("base_url must be an http(s) URL", param="base_url")
    host = parts.hostname
    literal = literal_host(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, parts.port or 443, type=socket.SOCK_STREAM
            )
        except OSError:
            raise InvalidRequest(
                f"base_url host '{host}' does not resolve", param="base_url"
            ) from None
        addresses = [str(info[4][0]) for info in infos]
    if not addresses or any(refused(a) for a in addresses):
        raise RefusedAddress(
            "base_url points at a loopback, private, link-local or otherwise non-public address",
            param="base_url",
        )


class GuardedResolver(AbstractResolver):
    """An aiohttp resolver that refuses hosts resolving to non-public addresses."""

    def __init__(self) -> None:
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[Any]:
        results = await self._inner.resolve(host, port, family)
        if any(refused(r["host"]) for r in results):
            raise OSError(f"refused to connect to a non-public address for {host}")
        return results

    async def close(self) -> None:
        await self._inner.close()
