"""The audit log (admin): every admin change, newest first. Logic in ``services.audit``."""

from __future__ import annotations

from saas_litellm_models import AuditLog, AuditLogQuery

from ..services import audit
from ._operation import Call, Operation, api_route

__all__ = ["routes"]


async def list_events(call: Call[None, AuditLogQuery]) -> AuditLog:
    return await audit.list_events(call.db, call.query)


routes = [
    api_route(
        Operation(
            "GET",
            "/api/audit-log",
            "List admin changes, newest first",
            auth="admin",
            tag="admin",
            response=AuditLog,
            query=AuditLogQuery,
            description="Who (`admin-key`, `local-dev`), what (`team.update`…), which target "
            "(`team:acme-corp`…) and the fields before and after; never a key.",
        ),
        list_events,
    ),
]
