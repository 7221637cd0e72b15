"""What the store relies on of SQLAlchemy's internals, in one place; ``tests/server/test_compat.py``
fails, naming the attribute and the version, when an upgrade takes any of it away.

The migrations rebuild a table as an older schema version had it (``migrations._as_of``), from
copies of today's columns: ``Column._copy()`` makes one, unattached to any table (the public
``Column.copy()`` is deprecated since 1.4 and only calls it; ``Table.to_metadata`` copies every
column, where a version that lacks some is needed).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

__all__ = ["copy_column"]


def copy_column(column: sa.Column[Any]) -> sa.Column[Any]:
    """A copy of ``column`` (name, type, nullability, keys, defaults), free to join a new table."""
    return column._copy()
