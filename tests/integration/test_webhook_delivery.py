"""Webhook delivery end to end: real ``saas-litellm-server serve`` processes send events to a
real receiver process (tests/webhook_receiver.py), which verifies every signature with the
``standardwebhooks`` package.

Covered: signatures verify; a receiver that is down gets its events when it comes back; a
server killed (SIGKILL) between the commit and the delivery, and one killed while a receiver
holds a delivery, lose nothing (delivered after a restart, same ``webhook-id``); three servers
on one database send each event once (a retried failure aside); manual redelivery; an
endpoint failing past the disable window is disabled; the private-address guard at delivery.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from receiver_process import Receiver
from support import free_port, server_process, start_server, stop, wait_until_up

from saas_litellm_client import (
    NotFoundError,
    SaasLiteLLMSyncAdminClient,
    WebhookTestEvent,
    verify_webhook,
)

T = TypeVar("T")

FAST = {
    "SAAS_LITELLM_WEBHOOKS_ALLOW_PRIVATE": "true",
    "SAAS_LITELLM_WEBHOOKS_RETRY_BASE_SECONDS": "0.2",
    "SAAS_LITELLM_WEBHOOKS_RETRY_MAX_INTERVAL_SECONDS": "0.5",
    "SAAS_LITELLM_WEBHOOKS_POLL_SECONDS": "0.2",
    "SAAS_LITELLM_WEBHOOKS_TIMEOUT_SECONDS": "2",
    "SAAS_LITELLM_WEBHOOKS_LEASE_SECONDS": "3",
}
EVENTS = ["job.completed", "job.failed", "team.suspended", "credits.exhausted"]
TEAM = "hooked"


def until(check: Callable[[], T | None], what: str, seconds: float = 30) -> T:
    """Poll ``check`` until it returns something truthy; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    directory = tmp_path / "receiver"
    directory.mkdir()
    rx = Receiver(directory)
    rx.start()
    try:
        yield rx
    finally:
        rx.stop()


def register(base: str, receiver: Receiver, events: list[str] | None = None) -> dict[str, Any]:
    r = httpx.post(f"{base}/api/webhooks", json={"url": receiver.url, "events": events or EVENTS})
    assert r.status_code == 201, r.text
    hook: dict[str, Any] = r.json()
    assert hook["secret"].startswith("whsec_")
    receiver.trust(hook["secret"])
    return hook


def make_team(base: str, *, credits: int = 100, team_id: str = TEAM) -> str:
    r = httpx.post(
        f"{base}/api/teams/create",
        json={"organization_id": "org", "team_id": team_id, "credits_allocated": credits},
    )
    assert r.status_code == 201, r.text
    key: str = r.json()["virtual_key"]
    return key


def finish_job(base: str, key: str, status: str = "completed", team_id: str = TEAM) -> str:
    """A job with one call, closed with ``status``; its id (the request committed)."""
    auth = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, headers=auth, timeout=30) as http:
        r = http.post("/api/jobs/create", json={"team_id": team_id, "job_type": "hooked"})
        assert r.status_code == 201, r.text
        job_id: str = r.json()["job_id"]
        r = http.post(
            f"/api/jobs/{job_id}/llm-call", json={"messages": [{"role": "user", "content": "hi"}]}
        )
        assert r.status_code == 200, r.text
        r = http.post(f"/api/jobs/{job_id}/complete", json={"status": status})
        assert r.status_code == 200, r.text
    return job_id


def deliveries(base: str, webhook_id: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{base}/api/webhooks/{webhook_id}/deliveries", params={"limit": 500})
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()["deliveries"]
    return found


def of_job(items: list[dict[str, Any]], job_id: str) -> list[dict[str, Any]]:
    return [i for i in items if (i.get("data") or {}).get("job_id") == job_id]


def test_deliveries_are_signed_and_carry_the_event(database_url: str, receiver: Receiver) -> None:
    with server_process(database_url, env=FAST) as (base, _):
        hook = register(base, receiver)
        key = make_team(base, credits=2)
        done = finish_job(base, key)
        failed = finish_job(base, key, "failed")
        assert httpx.post(f"{base}/api/teams/{TEAM}/suspend").status_code == 200

        got = until(lambda: len(receiver.accepted()) >= 3 and receiver.accepted(), "3 events")
        assert all(r["valid"] for r in receiver.received()), receiver.received()
        by_type = {r["type"]: r for r in got}
        assert set(by_type) == {"job.completed", "job.failed", "team.suspended"}
        completed = by_type["job.completed"]["data"]
        assert completed["job_id"] == done
        assert (completed["team_id"], completed["organization_id"]) == (TEAM, "org")
        assert completed["job_type"] == "hooked" and completed["status"] == "completed"
        assert completed["costs"]["credit_applied"] is True
        assert completed["costs"]["credits_remaining"] == 1
        assert completed["costs"]["successful_calls"] == 1
        assert by_type["job.failed"]["data"]["job_id"] == failed
        assert by_type["job.failed"]["data"]["costs"]["credit_applied"] is False
        assert by_type["team.suspended"]["data"] == {
            "team_id": TEAM,
            "organization_id": "org",
            "status": "suspended",
        }
        # the delivery log says the same, with the ids the receiver saw
        log = until(
            lambda: (
                (d := deliveries(base, hook["webhook_id"]))
                and all(x["status"] == "succeeded" for x in d)
                and d
            ),
            "the log to show them delivered",
        )
        assert {d["delivery_id"] for d in log} == {r["id"] for r in got}
        assert all(d["attempts"] == 1 and d["last_status_code"] == 200 for d in log)


def test_a_test_event_reaches_the_receiver_whatever_the_endpoints_events(
    database_url: str, receiver: Receiver
) -> None:
    """``POST /api/webhooks/{id}/test`` (the SDK's ``test_webhook``) on an endpoint that takes
    only ``credits.refilled``: the receiver gets ``webhook.test``, signed with the secret of
    the registration (``standardwebhooks`` verifies it, and ``verify_webhook`` types it); the
    log shows it delivered. A removed endpoint is a 404."""
    with (
        server_process(database_url, env=FAST) as (base, _),
        SaasLiteLLMSyncAdminClient(base_url=base) as admin,
    ):
        hook = register(base, receiver, ["credits.refilled"])
        queued = admin.test_webhook(hook["webhook_id"])
        assert (queued.event_type, queued.status) == ("webhook.test", "pending")
        (got,) = until(receiver.accepted, "the test event")
        assert (got["id"], got["type"], got["valid"]) == (queued.delivery_id, "webhook.test", True)
        event = verify_webhook(got["body"].encode(), got["headers"], hook["secret"])
        assert isinstance(event, WebhookTestEvent)
        assert event.data.webhook_id == hook["webhook_id"]
        log = until(
            lambda: (
                (d := deliveries(base, hook["webhook_id"])) and d[0]["status"] == "succeeded" and d
            ),
            "the log to show it delivered",
        )
        assert [(d["delivery_id"], d["attempts"], d["last_status_code"]) for d in log] == [
            (queued.delivery_id, 1, 200)
        ]
        admin.delete_webhook(hook["webhook_id"])
        with pytest.raises(NotFoundError):
            admin.test_webhook(hook["webhook_id"])
        assert len(receiver.received()) == 1


def test_the_last_credit_spent_sends_credits_exhausted(
    database_url: str, receiver: Receiver
) -> None:
    with server_process(database_url, env=FAST) as (base, _):
        register(base, receiver, ["credits.exhausted"])
        key = make_team(base, credits=1)
        finish_job(base, key)
        got = until(receiver.accepted, "credits.exhausted")
        assert [(r["type"], r["data"], r["valid"]) for r in got] == [
            (
                "credits.exhausted",
                {"team_id": TEAM, "organization_id": "org", "credits_remaining": 0},
                True,
            )
        ]


def test_a_receiver_that_is_down_gets_its_events_when_it_returns(
    database_url: str, receiver: Receiver
) -> None:
    with server_process(database_url, env=FAST) as (base, _):
        hook = register(base, receiver, ["job.completed"])
        key = make_team(base)
        receiver.stop()
        job = finish_job(base, key)
        failing = until(
            lambda: [d for d in deliveries(base, hook["webhook_id"]) if d["attempts"] >= 2],
            "two failed attempts",
        )
        assert failing[0]["status"] == "pending" and failing[0]["last_error"]
        receiver.start()
        got = until(receiver.accepted, "the delivery once the receiver is back")
        assert [(r["id"], r["data"]["job_id"], r["valid"]) for r in got] == [
            (failing[0]["delivery_id"], job, True)
        ]


def test_a_server_killed_after_the_commit_delivers_after_restart(
    database_url: str, receiver: Receiver
) -> None:
    """The first server writes the outbox but sends nothing (its worker is off), and dies by
    SIGKILL right after the commit; the restarted one sends it, with the same id."""
    port = free_port()
    with server_process(
        database_url, port=port, env={**FAST, "SAAS_LITELLM_WEBHOOKS_DELIVER": "false"}
    ) as (base, proc):
        hook = register(base, receiver, ["job.completed"])
        key = make_team(base)
        job = finish_job(base, key)
        pending = deliveries(base, hook["webhook_id"])
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert [(d["status"], d["attempts"]) for d in pending] == [("pending", 0)]
    assert receiver.received() == []
    with server_process(database_url, port=port, env=FAST) as (base, _):
        got = until(receiver.accepted, "the delivery after the restart")
        assert [(r["id"], r["data"]["job_id"], r["valid"]) for r in got] == [
            (pending[0]["delivery_id"], job, True)
        ]


def test_a_server_killed_mid_delivery_is_taken_over_after_its_lease(
    database_url: str, receiver: Receiver
) -> None:
    """The receiver holds the first attempt open; the server is SIGKILLed meanwhile. Another
    process takes the delivery over once the dead one's lease ran out, with the same id."""
    receiver.script(fail=0, hang=20)
    port = free_port()
    with server_process(database_url, port=port, env=FAST) as (base, proc):
        register(base, receiver, ["job.completed"])
        key = make_team(base)
        job = finish_job(base, key)
        first = until(receiver.received, "the first attempt to arrive")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    receiver.script()  # answer at once from now on
    with server_process(database_url, port=port, env=FAST) as (base, _):
        got = until(receiver.accepted, "the delivery after the takeover")
    assert [(r["id"], r["data"]["job_id"], r["valid"]) for r in got] == [
        (first[0]["id"], job, True)
    ]


@pytest.mark.parametrize("backend", ["postgresql"])
def test_three_processes_send_each_event_once(database_url: str, receiver: Receiver) -> None:
    """Jobs closed through three servers on one PostgreSQL: every event is delivered, and no
    event is delivered twice, except that a failed attempt (the receiver's first answers are
    500) is retried."""
    receiver.script(fail=5, status=500)
    started = [start_server(database_url, env=FAST) for _ in range(3)]
    try:
        for url, proc in started:
            wait_until_up(f"{url}/health", proc, "a server")
        bases = [url for url, _ in started]
        hooks = [register(bases[0], receiver, ["job.completed", "job.failed"]) for _ in range(2)]
        key = make_team(bases[1], credits=100)
        import concurrent.futures

        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            jobs = list(
                pool.map(
                    lambda i: finish_job(bases[i % 3], key, "completed" if i % 4 else "failed"),
                    range(24),
                )
            )
        expected = 2 * len(jobs)
        until(lambda: len(receiver.accepted()) >= expected, f"{expected} deliveries", 60)
        time.sleep(1)  # anything sent twice would arrive now
        received = receiver.received()
        assert all(r["valid"] for r in received)
        accepted = Counter(r["id"] for r in receiver.accepted())
        assert len(accepted) == expected and set(accepted.values()) == {1}, accepted
        failed = [r["id"] for r in received if r["status"] != 200]
        assert len(failed) == 5
        assert set(failed) <= set(accepted)  # each retried, then delivered once
        logged = {d["delivery_id"] for h in hooks for d in deliveries(bases[2], h["webhook_id"])}
        assert logged == set(accepted)
        assert {r["data"]["job_id"] for r in received} == set(jobs)
    finally:
        for _, proc in started:
            stop(proc)


def test_manual_redelivery_sends_the_same_id_again(database_url: str, receiver: Receiver) -> None:
    with server_process(database_url, env=FAST) as (base, _):
        hook = register(base, receiver, ["job.completed"])
        key = make_team(base)
        finish_job(base, key)
        first = until(receiver.accepted, "the first delivery")[0]
        delivery = first["id"]
        r = httpx.post(f"{base}/api/webhooks/{hook['webhook_id']}/deliveries/{delivery}/retry")
        assert r.status_code == 200, r.text
        assert r.json()["delivery_id"] == delivery
        again = until(lambda: len(receiver.accepted()) == 2 and receiver.accepted(), "a resend")
        assert [r["id"] for r in again] == [delivery, delivery] and all(r["valid"] for r in again)
        log = until(
            lambda: [d for d in deliveries(base, hook["webhook_id"]) if d["attempts"] == 2],
            "the log to count two attempts",
        )
        assert log[0]["status"] == "succeeded"


def test_an_endpoint_failing_past_the_window_is_disabled(
    database_url: str, receiver: Receiver
) -> None:
    env = {**FAST, "SAAS_LITELLM_WEBHOOKS_DISABLE_AFTER_SECONDS": "2"}
    receiver.script(fail=1_000_000, status=503)
    with server_process(database_url, env=env) as (base, _):
        hook = register(base, receiver, ["job.completed", "team.suspended"])
        key = make_team(base)
        finish_job(base, key)

        def disabled() -> dict[str, Any] | None:
            listed = httpx.get(f"{base}/api/webhooks").json()["webhooks"]
            return next((h for h in listed if h["status"] == "disabled"), None)

        shown = until(disabled, "the endpoint to be disabled")
        assert shown["webhook_id"] == hook["webhook_id"] and shown["disabled_at"]
        log = until(
            lambda: [d for d in deliveries(base, hook["webhook_id"]) if d["status"] == "failed"],
            "its pending delivery given up",
        )
        assert log[0]["last_error"] == "the endpoint was disabled"
        assert all(r["status"] == 503 for r in receiver.received())
        # nothing more goes to it: later events are not even queued
        attempts = len(receiver.received())
        assert httpx.post(f"{base}/api/teams/{TEAM}/suspend").status_code == 200
        time.sleep(1)
        assert len(receiver.received()) == attempts
        assert len(deliveries(base, hook["webhook_id"])) == 1
        r = httpx.post(
            f"{base}/api/webhooks/{hook['webhook_id']}/deliveries/{log[0]['delivery_id']}/retry"
        )
        assert r.status_code == 409, r.text


def test_a_private_address_is_refused_at_delivery_time(
    database_url: str, receiver: Receiver
) -> None:
    """Registered while private addresses were allowed; delivered by a server that does not
    allow them: refused (the receiver gets nothing), and the log says why."""
    port = free_port()
    with server_process(database_url, port=port, env=FAST) as (base, _):
        hook = register(base, receiver, ["job.completed"])
        key = make_team(base)
    strict = {**FAST, "SAAS_LITELLM_WEBHOOKS_ALLOW_PRIVATE": "false"}
    with server_process(database_url, port=port, env=strict) as (base, _):
        finish_job(base, key)
        log = until(
            lambda: [d for d in deliveries(base, hook["webhook_id"]) if d["attempts"] >= 1],
            "an attempt",
        )
        assert "refused" in log[0]["last_error"] and "loopback" in log[0]["last_error"]
        assert log[0]["status"] == "pending"  # retried: the address may change back
        assert receiver.received() == []


def test_the_sdk_manages_webhooks_against_the_real_server(
    database_url: str, receiver: Receiver
) -> None:
    from saas_litellm_client import NotFoundError, SaasLiteLLMSyncAdminClient

    with (
        server_process(database_url, env=FAST) as (base, _),
        SaasLiteLLMSyncAdminClient(base_url=base) as admin,
    ):
        hook = admin.create_webhook(receiver.url, ["job.completed"], idempotency_key="sdk-1")
        receiver.trust(hook.secret)
        again = admin.create_webhook(receiver.url, ["job.completed"], idempotency_key="sdk-1")
        assert (again.webhook_id, again.secret) == (hook.webhook_id, hook.secret)
        assert [h.webhook_id for h in admin.list_webhooks()] == [hook.webhook_id]
        key = make_team(base)
        job = finish_job(base, key)
        until(receiver.accepted, "the delivery")
        (delivery,) = until(
            lambda: [d for d in admin.list_webhook_deliveries(hook.webhook_id, status="succeeded")],
            "the delivery logged as succeeded",
        )
        assert delivery.event.data["job_id"] == job and delivery.attempts == 1
        assert admin.retry_webhook_delivery(hook.webhook_id, delivery.delivery_id).status in (
            "pending",
            "succeeded",
        )
        until(lambda: len(receiver.accepted()) == 2, "the redelivery")
        assert admin.delete_webhook(hook.webhook_id).deleted
        with pytest.raises(NotFoundError):
            admin.list_webhook_deliveries(hook.webhook_id)
