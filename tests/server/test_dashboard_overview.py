"""The dashboard's overview page (dashboard/overview.py) over httpx, on SQLite and PostgreSQL, in
local-dev mode (the sign-in is tested in test_dashboard_security.py): its figures are the
services', and the store's day buckets are UTC days on both backends."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx
import pytest
from dashboard_client import Dash, call, cells, complete
from support import create_team, open_job

from saas_litellm_server import Settings, create_app
from saas_litellm_server.services import stats
from saas_litellm_server.store import Database


async def test_overview_shows_the_services_figures(http: httpx.AsyncClient, app: Any) -> None:
    key = await create_team(http, credits=10)
    await create_team(http, team_id="idle", credits=5)
    for _ in range(2):
        job = await open_job(http, key, job_type="summary")
        await call(http, key, job)
        await complete(http, key, job)
    await open_job(http, key)  # one reserved credit
    dash = Dash(http)
    page = await dash.get("/admin")
    figures = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", page))
    assert figures["Organizations"] == "1"
    assert figures["Teams"] == "2"
    assert figures["Credits allocated"] == "15"
    assert figures["Credits used"] == "2"
    assert figures["Credits reserved"] == "1"
    # linked to the jobs page, from today (UTC)
    jobs_today = r'<a href="/admin/jobs\?since=\d{4}-\d\d-\d\d" id="jobs-today">3</a>'
    assert re.fullmatch(jobs_today, figures["Jobs today"])
    assert figures["Calls today"] == "2"
    rt = app.state.runtime
    o = await stats.overview(rt.db, rt.clock())
    assert figures["Spend today"] == f"${o.today.cost_usd:,.4f}"
    assert o.today.cost_usd > 0 and o.today.errors == 0
    assert cells(page, "top-teams")[0][0] == "acme-corp"
    assert "Calls per day (UTC)" in page and "<svg" in page
    assert "Spend by model (USD)" in page and ">default<" in page
    # the services agree with the API's usage
    usage = (await http.get("/api/teams/acme-corp/usage")).json()["by_job_type"]
    assert sum(u["cost_usd"] for u in usage) == pytest.approx(o.period.cost_usd)
    assert sum(u["calls"] for u in usage) == o.period.calls == 2


async def test_usage_per_day_and_model_on_both_backends(database_url: str) -> None:
    """The store's day buckets are UTC days on SQLite and PostgreSQL alike."""
    settings = Settings(database_url=database_url, _env_file=None)  # type: ignore[call-arg]
    now = [dt.datetime(2030, 5, 10, 23, 30, tzinfo=dt.timezone.utc)]
    app = create_app(settings, clock=lambda: now[0])
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://localhost"
        ) as http,
    ):
        key = await create_team(http)
        job = await open_job(http, key)
        await call(http, key, job)
        db: Database = app.state.runtime.db
        days = await stats.usage_by_day(db, dt.datetime.now(dt.timezone.utc), days=3)
        assert [d.label for d in days][-1] == dt.datetime.now(dt.timezone.utc).date().isoformat()
        assert days[-1].calls == 1 and days[0].calls == 0 and len(days) == 3
        models = await stats.usage_by_model(db, since=None, team_id="acme-corp")
        assert [(m.label, m.calls, m.errors) for m in models] == [("default", 1, 0)]
        assert await stats.usage_by_model(db, since=None, team_id="nobody") == []
