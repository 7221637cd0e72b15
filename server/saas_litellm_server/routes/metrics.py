"""``GET /metrics``: the Prometheus text exposition, for the operator only.

Served only with ``SAAS_LITELLM_METRICS=true`` (otherwise the path is a 404), and it names
teams, so it takes the admin key (open in local-dev mode, like every admin endpoint). A plain
route rather than an API operation: its body is Prometheus text, not JSON, and it is not part of
the API a team programs against.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._metrics import CONTENT_TYPE, Metrics
from ._auth import authorize
from ._http import runtime

__all__ = ["metrics_routes"]


def metrics_routes(metrics: Metrics) -> list[Route]:
    async def scrape(request: Request) -> Response:
        await authorize(request, "admin", {})
        metrics.sample_pool(runtime(request).db, force=True)
        return Response(metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    return [Route("/metrics", scrape, methods=["GET"])]
