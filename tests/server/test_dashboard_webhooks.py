"""The dashboard's webhook pages (dashboard/webhooks.py) over httpx, on SQLite and PostgreSQL, in
local-dev mode (the sign-in is tested in test_dashboard_security.py): the list, a webhook's
deliveries, a delivery sent again, a removal."""

from __future__ import annotations

import httpx
from dashboard_client import Dash, cells
from support import bearer, create_team, open_job


async def test_webhooks_list_deliveries_redeliver_and_remove(http: httpx.AsyncClient) -> None:
    dash = Dash(http)
    key = await create_team(http, credits=5)
    r = await http.post(
        "/api/webhooks",
        json={"url": "https://93.184.215.14/<b>hooks</b>", "events": ["job.failed"]},
    )
    assert r.status_code == 201, r.text
    hook = r.json()
    job = await open_job(http, key)
    r = await http.post(f"/api/jobs/{job}/complete", json={"status": "failed"}, headers=bearer(key))
    assert r.status_code == 200, r.text

    page = await dash.get("/admin/webhooks")
    assert cells(page, "webhooks")[0][:4] == [
        "https://93.184.215.14/hooks",  # shown as text: the tags are the URL's, escaped
        "job.failed",
        "all",
        "active",
    ]
    assert "&lt;b&gt;" in (await http.get("/admin/webhooks")).text
    assert hook["secret"] not in page and hook["secret"][6:] not in page
    detail = await dash.get(f"/admin/webhooks/{hook['webhook_id']}")
    ((_created, event, delivery_id, status, *_),) = cells(detail, "deliveries")
    assert (event, status) == ("job.failed", "pending") and delivery_id.startswith("msg_")
    assert hook["secret"] not in detail

    r = await dash.post(f"/admin/webhooks/{hook['webhook_id']}/deliveries/{delivery_id}/retry", {})
    assert r.headers["location"].endswith("done=redelivered")
    events = (await http.get("/api/audit-log", params={"action": "webhook.delivery_retry"})).json()
    assert events["events"][0]["actor"].startswith("dashboard:")
    filtered = await dash.get(f"/admin/webhooks/{hook['webhook_id']}?status=succeeded")
    assert cells(filtered, "deliveries") == [["No deliveries succeeded."]]
    await dash.get(f"/admin/webhooks/{hook['webhook_id']}?status=nope", status=400)
    await dash.get("/admin/webhooks/wh_nope", status=404)
    await dash.get("/admin/webhooks/" + "wh_" + "0" * 24, status=404)
    await dash.post(f"/admin/webhooks/wh_{'0' * 24}/deliveries/msg_%00/retry", {}, status=404)

    r = await dash.post(f"/admin/webhooks/{hook['webhook_id']}/remove", {})
    assert r.headers["location"].endswith("done=webhook-removed")
    assert cells(await dash.get("/admin/webhooks"), "webhooks") == [["No webhooks yet."]]
