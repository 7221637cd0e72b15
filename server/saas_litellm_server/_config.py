"""The declarative config file (``--config`` / ``SAAS_LITELLM_CONFIG``): access groups and model
aliases, applied at start-up.

TOML (or YAML, by its ``.yaml``/``.yml`` suffix), with the same fields as the admin API::

    [[access_groups]]
    group_name = "gpt-models"

    [[model_aliases]]
    model_alias = "ChatAgent"
    access_groups = ["gpt-models"]

    [[model_aliases.deployments]]         # the primary
    provider = "openai"
    model = "gpt-4o-mini"
    input_cost_per_million = 0.15
    output_cost_per_million = 0.60
    timeout = 30

    [[model_aliases.deployments]]         # the fallback
    provider = "openai"
    model = "gpt-4o"
    api_base = "http://127.0.0.1:4000"

Applying it is idempotent and declarative: a group is created if missing, an alias is created or
replaced (its deployments and groups become what the file says). Aliases the file does not name
are left alone, so the admin API and the file can be used side by side.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from saas_litellm_models import (
    ModelAccessGroupCreateRequest,
    ModelAliasCreateRequest,
    RequestModel,
)

__all__ = ["ConfigError", "ServerConfig", "load_config"]


class ConfigError(Exception):
    """The config file cannot be read or does not describe valid aliases."""


class ServerConfig(RequestModel):
    access_groups: list[ModelAccessGroupCreateRequest] = Field(default_factory=list)
    model_aliases: list[ModelAliasCreateRequest] = Field(default_factory=list)


def _parse(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in {".yaml", ".yml"}:
        import yaml

        return yaml.safe_load(text) or {}
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    return tomllib.loads(text)


def load_config(path: str | Path) -> ServerConfig:
    path = Path(path)
    try:
        data = _parse(path)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except ValueError as exc:  # TOMLDecodeError and YAMLError are ValueErrors or close to
        raise ConfigError(f"config file {path} is not valid: {exc}") from None
    except Exception as exc:  # yaml.YAMLError is not a ValueError
        raise ConfigError(f"config file {path} is not valid: {exc}") from None
    try:
        return ServerConfig.model_validate(data)
    except ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in exc.errors(include_url=False)[:5]
        )
        raise ConfigError(f"config file {path}: {details}") from None
