"""saas-litellm's reference server: Starlette + uvicorn, ``databases`` on SQLite or PostgreSQL.

Run it with ``saas-litellm-server serve`` (or ``python -m saas_litellm_server serve``); embed it
with :func:`create_app`.
"""

from ._settings import BUILTIN_MODEL_ALIAS, Settings
from ._version import __version__
from .app import create_app

__all__ = ["BUILTIN_MODEL_ALIAS", "Settings", "__version__", "create_app"]
