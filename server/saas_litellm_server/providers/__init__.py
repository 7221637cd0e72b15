"""Upstream providers behind model aliases: one module each (``mock``, ``openai``…), each
registering itself with :func:`base.register`; :func:`create_providers` builds them all."""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING

from ._tokens import bound_usage, input_bound, prompt_bound
from .base import (
    FACTORIES,
    EmbeddingResult,
    Provider,
    ProviderError,
    ProviderRequest,
    ProviderResult,
    StreamDelta,
    register,
)

if TYPE_CHECKING:
    from .._redact import Redactor
    from .._settings import Settings

__all__ = [
    "EmbeddingResult",
    "Provider",
    "ProviderError",
    "ProviderRequest",
    "ProviderResult",
    "StreamDelta",
    "bound_usage",
    "create_providers",
    "input_bound",
    "prompt_bound",
    "register",
]


def create_providers(settings: Settings, redactor: Redactor) -> dict[str, Provider]:
    """One instance of every provider module in this package, by name."""
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_") and module.name != "base":
            importlib.import_module(f"{__name__}.{module.name}")
    return {name: factory(settings, redactor) for name, factory in FACTORIES.items()}
