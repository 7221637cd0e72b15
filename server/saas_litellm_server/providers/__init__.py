"""Upstream providers behind model aliases: ``mock`` (built in, offline) and ``openai``."""

from .base import Provider, ProviderError, ProviderRequest, ProviderResult, StreamDelta
from .mock import MockProvider
from .openai import OpenAIProvider

__all__ = [
    "MockProvider",
    "OpenAIProvider",
    "Provider",
    "ProviderError",
    "ProviderRequest",
    "ProviderResult",
    "StreamDelta",
]
