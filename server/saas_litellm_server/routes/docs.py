"""Interactive API documentation: the OpenAPI document, Swagger UI at ``/docs`` and ReDoc at
``/redoc``, with their assets served from the package (no internet access needed)."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from .._version import __version__
from ._openapi import build_openapi

__all__ = ["routes"]

_STATIC = Path(__file__).resolve().parent.parent / "static"

_SWAGGER = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>saas-litellm API</title>
<link rel="stylesheet" href="/static/docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/static/docs/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui",
  deepLinking: true, persistAuthorization: true});</script>
</body></html>"""

_REDOC = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>saas-litellm API</title></head>
<body><div id="redoc"></div>
<script src="/static/docs/redoc.standalone.js"></script>
<script>Redoc.init("/openapi.json", {}, document.getElementById("redoc"));</script>
</body></html>"""


async def openapi(request: Request) -> Response:
    document = getattr(request.app.state, "openapi", None)
    if document is None:
        document = build_openapi(request.app.routes, version=__version__)
        request.app.state.openapi = document
    return JSONResponse(document)


async def swagger(request: Request) -> Response:
    return HTMLResponse(_SWAGGER)


async def redoc(request: Request) -> Response:
    return HTMLResponse(_REDOC)


routes: list[BaseRoute] = [
    Route("/openapi.json", openapi, methods=["GET"], include_in_schema=False),
    Route("/docs", swagger, methods=["GET"], include_in_schema=False),
    Route("/redoc", redoc, methods=["GET"], include_in_schema=False),
    Mount("/static/docs", StaticFiles(directory=_STATIC), name="docs-static"),
]
