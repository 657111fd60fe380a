"""The endpoints seed ``001_…`` lists as unimplemented — files and fine-tuning — answer 501 in
the OpenAI envelope, saying so, rather than a bare 404."""

from __future__ import annotations

from starlette.requests import Request

from patchbay.errors import GatewayError

PATHS = (
    "/v1/files",
    "/v1/files/{rest:path}",
    "/v1/fine_tuning/jobs",
    "/v1/fine_tuning/{rest:path}",
)
METHODS = ["GET", "POST", "DELETE"]


class NotImplementedHere(GatewayError):
    status, code, kind = 501, "not_implemented", "not_implemented_error"


async def refuse(request: Request) -> None:
    family = "fine-tuning" if request.url.path.startswith("/v1/fine_tuning") else "files"
    raise NotImplementedHere(
        f"{request.method} {request.url.path}: the {family} endpoints are not implemented by "
        "this gateway (files and fine-tuning are not served)"
    )
