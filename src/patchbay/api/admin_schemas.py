"""Request bodies of the admin API (SPEC §5)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AccountCreate(Strict):
    name: StrictStr = Field(min_length=1, max_length=200)
    role: Literal["admin", "user"] = "user"
    points: StrictInt = 0


class Credit(Strict):
    points: StrictInt
    note: StrictStr | None = Field(default=None, max_length=500)


class KeyCreate(Strict):
    name: StrictStr = Field(min_length=1, max_length=200)
    allowed_models: list[StrictStr] | None = None
    rpm: StrictInt | None = Field(default=None, ge=1)
    tpm: StrictInt | None = Field(default=None, ge=1)
    max_points: StrictInt | None = Field(default=None, ge=0)
    expires_at: datetime | None = None
