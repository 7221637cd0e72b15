"""Shapes of the server's own endpoints."""

from __future__ import annotations

from typing import Literal

from ._base import ResponseModel

__all__ = ["Health"]


class Health(ResponseModel):
    """Response of ``GET /health``."""

    status: Literal["ok"] = "ok"
