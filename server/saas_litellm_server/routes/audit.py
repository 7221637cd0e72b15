"""The audit log (admin): every admin change, newest first. Logic in ``services.audit``."""

from __future__ import annotations

from saas_litellm_models import AuditLog, AuditLogQuery, endpoints

from ..services import audit
from ._operation import APIRequest, api_route

__all__ = ["routes"]


async def list_events(req: APIRequest[None, AuditLogQuery]) -> AuditLog:
    return await audit.list_events(req.db, req.query)


routes = [
    api_route(endpoints.LIST_AUDIT_LOG, list_events, replica=True),
]
