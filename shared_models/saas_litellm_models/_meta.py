"""Shapes of the server's own endpoints."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ._base import ResponseModel

__all__ = ["Health"]


class Health(ResponseModel):
    """Response of ``GET /health`` and ``GET /ready``."""

    status: Literal["ok"] = "ok"
    version: str | None = Field(
        default=None, description="The server's version (absent from servers before 0.1)."
    )
