"""Operators (owners only): create, list, change, remove, rotate a key. Logic in
``services.operators``; the role check in ``_operation``."""

from __future__ import annotations

from saas_litellm_models import (
    Deleted,
    OperatorCreated,
    OperatorCreateRequest,
    OperatorInfo,
    OperatorList,
    OperatorUpdateRequest,
    PageQuery,
    endpoints,
)

from ..services import operators
from ._operation import APIRequest, api_route

__all__ = ["routes"]


async def create_operator(req: APIRequest[OperatorCreateRequest, None]) -> OperatorCreated:
    return await operators.create_operator(req.db, req.body, req.operator)


async def list_operators(req: APIRequest[None, PageQuery]) -> OperatorList:
    return await operators.list_operators(req.db, req.query)


async def update_operator(req: APIRequest[OperatorUpdateRequest, None]) -> OperatorInfo:
    return await operators.update_operator(req.db, req.path["operator_id"], req.body, req.operator)


async def delete_operator(req: APIRequest[None, None]) -> Deleted:
    return await operators.delete_operator(req.db, req.path["operator_id"], req.operator)


async def rotate_key(req: APIRequest[None, None]) -> OperatorCreated:
    return await operators.rotate_key(req.db, req.path["operator_id"], req.operator)


routes = [
    api_route(endpoints.CREATE_OPERATOR, create_operator, reissue=operators.reissue_key),
    api_route(endpoints.LIST_OPERATORS, list_operators),
    api_route(endpoints.UPDATE_OPERATOR, update_operator),
    api_route(endpoints.DELETE_OPERATOR, delete_operator),
    api_route(endpoints.ROTATE_OPERATOR_KEY, rotate_key, reissue=operators.reissue_key),
]
