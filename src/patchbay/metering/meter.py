"""The metering seam of the request path.

``admit`` runs before the upstream call and may refuse (402); ``settle`` runs once the usage is
known — before the final chunk that carries the cost is sent — and again, harmlessly, on every
exit path, so a call is settled exactly once whatever happens (client gone, upstream fault,
shutdown). Implementations must keep both off the database on the request path.
"""

from __future__ import annotations

from typing import Protocol

from patchbay.metering.call import Call


class Meter(Protocol):
    def admit(self, call: Call) -> None: ...

    async def reserve(self, call: Call) -> None:
        """After ``admit``: the hold in the book instances share (a no-op without one)."""

    def settle(self, call: Call) -> None: ...

    async def aclose(self) -> None: ...


class FreeMeter:
    """Charges nothing: for tests of the plain request path."""

    def admit(self, call: Call) -> None:
        return None

    async def reserve(self, call: Call) -> None:
        return None

    def settle(self, call: Call) -> None:
        call.settled = True

    async def aclose(self) -> None:
        return None
