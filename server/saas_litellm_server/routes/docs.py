"""Interactive API documentation: the OpenAPI document, Swagger UI at ``/docs`` and ReDoc at
``/redoc``, with their assets served from the package (no internet access needed); and ``/``,
a page that points at them and at the dashboard (someone opening the server's address in a
browser meets links, not a JSON 404)."""

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


_HOME = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>saas-litellm server</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;
color:#1f2328}}a{{color:#0969da}}li{{margin:.3rem 0}}code{{font-size:.9em}}</style></head>
<body><h1>saas-litellm server</h1><p>Version {version}. A job-based, multi-tenant LLM API.</p>
<ul>{dashboard}
<li><a href="/docs">/docs</a>: the API, interactive (Swagger UI)</li>
<li><a href="/redoc">/redoc</a>: the API reference (ReDoc)</li>
<li><a href="/openapi.json">/openapi.json</a>: the OpenAPI document</li>
<li><code>/v1</code>: the OpenAI-compatible surface (the <code>base_url</code> of the openai SDK;
the saas-litellm SDK takes this server's root URL)</li>
</ul></body></html>"""

_DASHBOARD_LINK = '<li><a href="/admin">/admin</a>: the operators\' dashboard</li>'


async def home(request: Request) -> Response:
    runtime = getattr(request.app.state, "runtime", None)
    dashboard = runtime is None or runtime.settings.dashboard
    return HTMLResponse(
        _HOME.format(version=__version__, dashboard=_DASHBOARD_LINK if dashboard else "")
    )


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
    Route("/", home, methods=["GET"], include_in_schema=False),
    Route("/openapi.json", openapi, methods=["GET"], include_in_schema=False),
    Route("/docs", swagger, methods=["GET"], include_in_schema=False),
    Route("/redoc", redoc, methods=["GET"], include_in_schema=False),
    Mount("/static/docs", StaticFiles(directory=_STATIC), name="docs-static"),
]
