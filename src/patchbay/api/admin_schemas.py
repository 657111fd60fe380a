"""Request bodies of the admin API (SPEC §5)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

POINTS = 10**15  # at most, in one top-up or cap (a balance is a 64-bit integer)
PER_MINUTE = 2**31 - 1  # rpm and tpm are 32-bit columns


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AccountCreate(Strict):
    name: StrictStr = Field(min_length=1, max_length=200)
    role: Literal["admin", "user"] = "user"
    points: StrictInt = Field(default=0, ge=-POINTS, le=POINTS)


class Credit(Strict):
    points: StrictInt = Field(ge=-POINTS, le=POINTS)
    note: StrictStr | None = Field(default=None, max_length=500)


class KeyCreate(Strict):
    name: StrictStr = Field(min_length=1, max_length=200)
    allowed_models: list[StrictStr] | None = None
    rpm: StrictInt | None = Field(default=None, ge=1, le=PER_MINUTE)
    tpm: StrictInt | None = Field(default=None, ge=1, le=PER_MINUTE)
    max_points: StrictInt | None = Field(default=None, ge=0, le=POINTS)
    expires_at: datetime | None = None
