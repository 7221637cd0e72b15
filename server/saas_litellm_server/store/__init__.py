"""The store: all SQL of the server, one module per table family.

``Database`` (the only user of the ``databases`` package) and ``migrate`` are the entry points;
the services call the functions of :mod:`.catalog`, :mod:`.teams`, :mod:`.jobs` and :mod:`.calls`.
"""

from ._database import (
    Database,
    DatabaseUnavailable,
    Statement,
    track_writes,
    writes_attempted,
)
from .migrations import LATEST_VERSION, migrate

__all__ = [
    "LATEST_VERSION",
    "Database",
    "DatabaseUnavailable",
    "Statement",
    "migrate",
    "track_writes",
    "writes_attempted",
]
