"""The store: all SQL of the server, one module per table family.

``Database`` (the only user of the ``databases`` package) and ``migrate`` are the entry points;
the services call the functions of the ``*_sql`` modules (:mod:`.jobs_sql`, :mod:`.teams_sql`,
:mod:`.calls_sql`, :mod:`.usage_sql`, …), which hand back typed rows, never the driver's records.

Names: a store module that holds SQL is named ``<family>_sql`` and imported under that name, so
that a module name means one layer everywhere (``jobs`` is ``services.jobs``, the job lifecycle;
``jobs_sql`` is its SQL).
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
