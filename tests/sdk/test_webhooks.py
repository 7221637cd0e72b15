"""``verify_webhook``: the receiving side of the server's webhooks.

Covered: what a real server sends (every event type, on both backends) verifies and parses into
its typed event, and the ``standardwebhooks`` package agrees with us both ways; the receivers of
docs/webhooks.md (Starlette and FastAPI) and examples/webhook_receiver.py work as written; a
tampered body, a wrong secret, a missing header, a stale or future timestamp, a signature of
another version and a body that is no known event are refused, each saying which check failed
and never the secret; several signatures (one valid) and any header spelling are accepted.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from support import eventually, live_server

from saas_litellm_client import (
    CreditsExhaustedEvent,
    CreditsLowEvent,
    CreditsRefilledEvent,
    JobCompletedEvent,
    JobFailedEvent,
    SaasLiteLLMAdminClient,
    SaasLiteLLMClient,
    SaasLiteLLMError,
    TeamSuspendedEvent,
    WebhookEvent,
    WebhookTestEvent,
    WebhookVerificationError,
    verify_webhook,
)
from saas_litellm_models import WEBHOOK_EVENT_TYPES, parse_webhook_event
from saas_litellm_server import Settings, create_app

ROOT = Path(__file__).resolve().parents[2]
KEY = b"0123456789abcdef0123456789abcdef"
SECRET = "whsec_" + base64.b64encode(KEY).decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"another key, another endpoint!!!").decode()
NOW = datetime(2026, 12, 3, 16, 31, 37, tzinfo=timezone.utc)

JOB = {
    "job_id": "675ead82-0000-4000-8000-000000000001",
    "team_id": "acme-corp",
    "organization_id": "org_acme",
    "job_type": "document_analysis",
    "status": "completed",
    "created_at": "2026-12-03T16:31:35.102934Z",
    "completed_at": "2026-12-03T16:31:37.774987Z",
    "error_message": None,
    "costs": {
        "total_calls": 3,
        "successful_calls": 3,
        "failed_calls": 0,
        "cancelled_calls": 0,
        "calls_in_flight": 0,
        "total_tokens": 1543,
        "total_cost_usd": 0.00091,
        "avg_latency_ms": 812.4,
        "credit_applied": True,
        "credits_charged": 1,
        "credits_remaining": 999,
    },
}
TEAM = {"team_id": "acme-corp", "organization_id": "org_acme"}
# One body of each type, as docs/webhooks.md's table describes them.
SAMPLES: dict[str, dict[str, Any]] = {
    "job.completed": JOB,
    "job.failed": {**JOB, "status": "failed", "error_message": "abandoned: no activity"},
    "credits.low": {**TEAM, "credits_remaining": 2, "low_balance_threshold": 2},
    "credits.exhausted": {**TEAM, "credits_remaining": 0},
    "credits.refilled": {**TEAM, "credits": 10, "credits_remaining": 10, "period": "2026-12-03"},
    "team.suspended": {**TEAM, "status": "suspended"},
}
MODELS: dict[str, type] = {
    "job.completed": JobCompletedEvent,
    "job.failed": JobFailedEvent,
    "credits.low": CreditsLowEvent,
    "credits.exhausted": CreditsExhaustedEvent,
    "credits.refilled": CreditsRefilledEvent,
    "team.suspended": TeamSuspendedEvent,
}


def _body(event_type: str = "job.completed", data: Mapping[str, Any] | None = None) -> bytes:
    event = {"type": event_type, "timestamp": "2026-12-03T16:31:37.774987Z"}
    event["data"] = SAMPLES[event_type] if data is None else data  # type: ignore[assignment]
    return json.dumps(event, separators=(",", ":")).encode()


def _signed(
    body: bytes, *, secret: str = SECRET, msg_id: str = "msg_1", at: datetime = NOW
) -> dict[str, str]:
    """The headers of a delivery of ``body``, signed by the ``standardwebhooks`` package."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body),
    }


def _refused(
    body: bytes, headers: Mapping[str, str], error_type: str, **kwargs: Any
) -> WebhookVerificationError:
    with pytest.raises(WebhookVerificationError) as caught:
        verify_webhook(body, headers, kwargs.pop("secret", SECRET), now=NOW, **kwargs)
    error = caught.value
    assert error.error_type == error_type, str(error)
    assert isinstance(error, SaasLiteLLMError)
    for secret in (SECRET, OTHER_SECRET):  # never the secret, nor its key
        assert secret.removeprefix("whsec_") not in str(error)
    return error


# -- what verifies ------------------------------------------------------------------------------


@pytest.mark.parametrize("event_type", WEBHOOK_EVENT_TYPES)
def test_each_event_type_verifies_into_its_own_model(event_type: str) -> None:
    body = _body(event_type)
    event = verify_webhook(body, _signed(body), SECRET, now=NOW)
    assert type(event) is MODELS[event_type]
    assert event.type == event_type
    assert event.timestamp == datetime(2026, 12, 3, 16, 31, 37, 774987, tzinfo=timezone.utc)
    # every field of the body is modelled: nothing sent is dropped on the way
    assert json.loads(event.model_dump_json()) == json.loads(body)


def test_the_test_event_verifies_into_its_own_model() -> None:
    """``webhook.test`` (sent on request, not subscribed to) is typed like the others."""
    body = _body("webhook.test", {"webhook_id": "wh_5c1f00000000000000000000"})
    event = verify_webhook(body, _signed(body), SECRET, now=NOW)
    assert isinstance(event, WebhookTestEvent)
    assert event.data.webhook_id == "wh_5c1f00000000000000000000"
    assert json.loads(event.model_dump_json()) == json.loads(body)
    assert "webhook.test" not in WEBHOOK_EVENT_TYPES


def test_the_event_is_typed_all_the_way_down() -> None:
    body = _body("job.completed")
    event = verify_webhook(body, _signed(body), SECRET, now=NOW)
    assert isinstance(event, JobCompletedEvent)
    assert event.data.costs.credits_charged == 1 and event.data.costs.total_cost_usd == 0.00091
    assert event.data.completed_at == datetime(2026, 12, 3, 16, 31, 37, 774987, tzinfo=timezone.utc)


def test_header_names_match_whatever_their_case_in_any_mapping() -> None:
    body = _body()
    headers = _signed(body)
    spellings: list[Mapping[str, str]] = [
        {k.title(): v for k, v in headers.items()},  # Webhook-Id…
        {k.upper(): v for k, v in headers.items()},
        Headers(headers={k.upper(): v for k, v in headers.items()}),  # Starlette's
        httpx.Headers({k.title(): v for k, v in headers.items()}),
    ]
    for spelling in spellings:
        assert verify_webhook(body, spelling, SECRET, now=NOW).type == "job.completed"


def test_any_matching_v1_signature_accepts_and_other_versions_are_ignored() -> None:
    body = _body()
    headers = _signed(body)
    ours = headers["webhook-signature"]
    forged = "v1," + base64.b64encode(b"x" * 32).decode()
    for signatures in (
        f"{forged} {ours}",  # a rotation: the old secret's and the new one's
        f"{ours} {forged}",
        f"v1a,{base64.b64encode(b'y' * 64).decode()}  {ours}",  # asymmetric, double space
        f"{Webhook(OTHER_SECRET).sign('msg_1', NOW, body)} {ours}",
    ):
        event = verify_webhook(body, {**headers, "webhook-signature": signatures}, SECRET, now=NOW)
        assert event.type == "job.completed"


def test_a_v2_signature_is_not_checked_even_when_its_value_is_right() -> None:
    body = _body()
    headers = _signed(body)
    value = headers["webhook-signature"].removeprefix("v1,")
    error = _refused(body, {**headers, "webhook-signature": f"v2,{value}"}, "invalid_signature")
    assert "no v1 signature" in str(error)


def test_the_secret_may_be_given_without_its_prefix() -> None:
    """As the Standard Webhooks libraries accept it; base64 without its padding too."""
    body = _body()
    for secret in (SECRET.removeprefix("whsec_"), SECRET.rstrip("="), f" {SECRET}\n"):
        assert verify_webhook(body, _signed(body), secret, now=NOW).type == "job.completed"


def test_the_timestamp_may_be_off_by_the_tolerance_either_way() -> None:
    body = _body()
    for skew in (timedelta(minutes=-5), timedelta(minutes=5), timedelta(0)):
        headers = _signed(body, at=NOW + skew)
        assert verify_webhook(body, headers, SECRET, now=NOW).type == "job.completed"
    headers = _signed(body, at=NOW - timedelta(minutes=20))
    for tolerance in (timedelta(minutes=20), 1200, 1200.0):
        assert verify_webhook(body, headers, SECRET, tolerance=tolerance, now=NOW)


# -- what is refused ----------------------------------------------------------------------------


def test_a_tampered_body_is_refused() -> None:
    body = _body()
    headers = _signed(body)
    for changed in (
        body.replace(b'"credits_charged":1', b'"credits_charged":0'),
        body + b"\n",
        json.dumps(json.loads(body)).encode(),  # parsed and serialized again: other bytes
    ):
        error = _refused(changed, headers, "invalid_signature")
        assert "raw body" in str(error)


def test_a_changed_id_or_timestamp_is_refused() -> None:
    body = _body()
    headers = _signed(body)
    _refused(body, {**headers, "webhook-id": "msg_2"}, "invalid_signature")
    _refused(
        body, {**headers, "webhook-timestamp": str(int(NOW.timestamp()) + 1)}, "invalid_signature"
    )


def test_a_wrong_secret_is_refused_without_naming_it() -> None:
    body = _body()
    error = _refused(body, _signed(body), "invalid_signature", secret=OTHER_SECRET)
    assert "secret" in str(error)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_is_refused_by_name(missing: str) -> None:
    body = _body()
    headers = {k: v for k, v in _signed(body).items() if k != missing}
    error = _refused(body, headers, "missing_header")
    assert missing in str(error)
    _refused(body, {**headers, missing: ""}, "missing_header")
    error = _refused(body, {}, "missing_header")
    assert "webhook-id, webhook-timestamp, webhook-signature" in str(error)


def test_a_stale_or_future_timestamp_is_refused() -> None:
    """A delivery captured and replayed later is refused, even with its valid signature."""
    body = _body()
    stale = _signed(body, at=NOW - timedelta(minutes=5, seconds=1))
    error = _refused(body, stale, "timestamp_too_old")
    assert "301 s old" in str(error) and "300 s tolerance" in str(error)
    future = _signed(body, at=NOW + timedelta(minutes=6))
    error = _refused(body, future, "timestamp_too_new")
    assert "360 s in the future" in str(error)
    old = _signed(body, at=NOW - timedelta(seconds=31))
    _refused(body, old, "timestamp_too_old", tolerance=30)
    _refused(body, old, "timestamp_too_old", tolerance=timedelta(seconds=30))


@pytest.mark.parametrize("value", ["abc", "1.5e9", "1764779497.5", "-1", "9" * 13, "١٢٣"])
def test_a_timestamp_that_is_not_whole_seconds_is_refused(value: str) -> None:
    body = _body()
    error = _refused(body, {**_signed(body), "webhook-timestamp": value}, "invalid_timestamp")
    assert "Unix time" in str(error)


def test_a_signed_body_that_is_no_known_event_is_refused_as_unknown_event() -> None:
    """Genuine (the signature matches) but not typed: a newer server's event, or a change of
    fields; ``error_type`` tells it apart from a forgery."""
    for body in (
        _body("job.completed", {**JOB, "costs": {}}),
        json.dumps(
            {"type": "team.renamed", "timestamp": "2026-12-03T16:31:37Z", "data": {}}
        ).encode(),
        b"not json",
    ):
        error = _refused(body, _signed(body), "unknown_event")
        assert "signed correctly" in str(error)


def test_setup_mistakes_are_value_and_type_errors_not_verification_errors() -> None:
    body = _body()
    headers = _signed(body)
    for secret in ("whsec_not base64!", "", "whsec_"):
        with pytest.raises(ValueError, match="secret") as caught:
            verify_webhook(body, headers, secret, now=NOW)
        assert not isinstance(caught.value, SaasLiteLLMError)
    with pytest.raises(TypeError, match="raw request body"):
        verify_webhook(body.decode(), headers, SECRET, now=NOW)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="tolerance"):
        verify_webhook(body, headers, SECRET, tolerance=-1, now=NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_webhook(body, headers, SECRET, now=NOW.replace(tzinfo=None))


def test_without_now_the_machines_clock_is_used() -> None:
    body = _body()
    assert verify_webhook(body, _signed(body, at=datetime.now(timezone.utc)), SECRET)
    an_hour_ago = datetime.now(timezone.utc) - timedelta(hours=1)
    with pytest.raises(WebhookVerificationError, match="s old, more than the 300 s tolerance"):
        verify_webhook(body, _signed(body, at=an_hour_ago), SECRET)


# -- the receivers of docs/webhooks.md, run as written ------------------------------------------


def _docs_block(marker: str) -> str:
    text = (ROOT / "docs" / "webhooks.md").read_text()
    (block,) = [b for b in re.findall(r"^```python\n(.*?)^```", text, re.M | re.S) if marker in b]
    return str(block)


@pytest.mark.parametrize("marker", ["Starlette(routes", "FastAPI()"])
async def test_the_receivers_in_the_docs_work_as_written(
    marker: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SAAS_LITELLM_WEBHOOK_SECRET", SECRET)
    namespace: dict[str, Any] = {}
    exec(compile(_docs_block(marker), f"docs/webhooks.md ({marker})", "exec"), namespace)
    transport = httpx.ASGITransport(app=namespace["app"])
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        body = _body("job.completed")
        now = datetime.now(timezone.utc)
        r = await http.post("/saas-litellm", content=body, headers=_signed(body, at=now))
        assert r.status_code == 204, r.text
        assert capsys.readouterr().out == f"job {JOB['job_id']}: 1 credit(s)\n"
        r = await http.post(
            "/saas-litellm", content=body + b" ", headers=_signed(body, at=now, msg_id="msg_2")
        )
        assert r.status_code == 400 and "no v1 signature" in r.text  # and says why
        assert capsys.readouterr().out == ""


# -- against a real server ----------------------------------------------------------------------


class Inbox:
    """A receiver served over real HTTP: it verifies each delivery (with Starlette's
    ``request.headers``, as the docs' receiver does) and keeps its raw body and headers."""

    def __init__(self) -> None:
        self.secret = ""
        self.deliveries: list[tuple[bytes, Headers, int]] = []
        self._changed = threading.Condition()
        self.app = Starlette(routes=[Route("/hooks", self.receive, methods=["POST"])])

    async def receive(self, request: Request) -> Response:
        body = await request.body()
        try:
            verify_webhook(body, request.headers, self.secret)
            status = 204
        except WebhookVerificationError:
            status = 400
        with self._changed:
            self.deliveries.append((body, request.headers, status))
            self._changed.notify_all()
        return Response(status_code=status)

    async def wait_for(self, count: int, seconds: float = 30) -> None:
        def wait() -> bool:
            with self._changed:
                return self._changed.wait_for(lambda: len(self.deliveries) >= count, seconds)

        assert await asyncio.to_thread(wait), f"{len(self.deliveries)} of {count} deliveries"


def _live_settings(database_url: str) -> Settings:
    return Settings(  # type: ignore[call-arg]
        database_url=database_url,
        webhooks_allow_private=True,  # the receiver is on loopback
        maintenance_interval_seconds=0.2,  # the sweep applies the auto-refill
        _env_file=None,
    )


async def test_what_a_real_server_sends_verifies_into_typed_events(database_url: str) -> None:
    """Every event type, from a server over real HTTP to a real receiver: each verifies with
    ``verify_webhook`` and with ``standardwebhooks``, and its typed event holds every field
    sent. A delivery replayed six minutes later, or checked with another secret, is refused."""
    settings = _live_settings(database_url)
    inbox = Inbox()
    with live_server(inbox.app) as receiver, live_server(create_app(settings), settings) as url:
        async with SaasLiteLLMAdminClient(base_url=url) as admin:
            hook = await admin.create_webhook(f"{receiver}/hooks", list(WEBHOOK_EVENT_TYPES))
            inbox.secret = hook.secret
            await admin.create_organization("org_hooks", "Hooks")
            team = await admin.create_team(
                "org_hooks", "hooked", credits_allocated=2, low_balance_threshold=1
            )
            jobs: list[str] = []
            async with SaasLiteLLMClient(
                base_url=url, team_id="hooked", virtual_key=team.virtual_key
            ) as client:
                for status in ("completed", "failed", "completed"):  # 2 → 1 (low) → 1 → 0
                    job = await client.create_job("hooks")
                    if status == "completed":
                        await client.llm_call(
                            job_id=job.job_id, messages=[{"role": "user", "content": "hi"}]
                        )
                    await client.complete_job(job.job_id, status)
                    jobs.append(job.job_id)
            await admin.set_auto_refill("hooked", 5, "daily")  # applied by the next sweep
            await inbox.wait_for(6)
            await admin.suspend_team("hooked")
            await inbox.wait_for(7)

            async def delivered() -> list[Any] | None:
                # the receiver has the 7th; its sender marks it succeeded right after
                log = [d async for d in admin.list_webhook_deliveries(hook.webhook_id)]
                return log if all(d.status == "succeeded" for d in log) else None

            log = await eventually(delivered)

    events: dict[str, WebhookEvent] = {}
    for body, headers, answered in inbox.deliveries:
        assert answered == 204  # verified by the receiver itself
        event = verify_webhook(body, headers, hook.secret)
        assert json.loads(event.model_dump_json()) == json.loads(body)  # nothing left out
        assert Webhook(hook.secret).verify(body, dict(headers)) == json.loads(body)
        events[headers["webhook-id"]] = event
        _refused_live(body, headers, hook.secret)
    assert len(events) == 7 and all(i.startswith("msg_") for i in events)
    by_type: dict[str, list[Any]] = {}
    for event in events.values():
        by_type.setdefault(event.type, []).append(event)
    assert sorted(by_type) == sorted(WEBHOOK_EVENT_TYPES)
    assert sorted(e.data.job_id for e in by_type["job.completed"]) == sorted([jobs[0], jobs[2]])
    assert all(isinstance(e, JobCompletedEvent) for e in by_type["job.completed"])
    assert [e.data.costs.credits_charged for e in by_type["job.completed"]] == [1, 1]
    (failed,) = by_type["job.failed"]
    assert isinstance(failed, JobFailedEvent) and failed.data.job_id == jobs[1]
    assert failed.data.costs.credit_applied is False
    (low,) = by_type["credits.low"]
    assert isinstance(low, CreditsLowEvent)
    assert (low.data.credits_remaining, low.data.low_balance_threshold) == (1, 1)
    (exhausted,) = by_type["credits.exhausted"]
    assert isinstance(exhausted, CreditsExhaustedEvent) and exhausted.data.credits_remaining == 0
    (refilled,) = by_type["credits.refilled"]
    assert isinstance(refilled, CreditsRefilledEvent)
    assert (refilled.data.credits, refilled.data.credits_remaining) == (5, 5)
    refilled_on = date.fromisoformat(refilled.data.period)  # a daily refill's period: its day
    assert abs(refilled_on - refilled.timestamp.date()) <= timedelta(days=1)
    (suspended,) = by_type["team.suspended"]
    assert isinstance(suspended, TeamSuspendedEvent)
    assert (suspended.data.team_id, suspended.data.organization_id) == ("hooked", "org_hooks")
    # the delivery log lists the same deliveries, delivered; its untyped events type the same
    assert {d.delivery_id for d in log} == set(events)
    assert all(d.status == "succeeded" for d in log)
    for delivery in log:
        assert parse_webhook_event(delivery.event.model_dump_json()) == events[delivery.delivery_id]


def _refused_live(body: bytes, headers: Headers, secret: str) -> None:
    later = datetime.now(timezone.utc) + timedelta(minutes=6)
    with pytest.raises(WebhookVerificationError) as caught:
        verify_webhook(body, headers, secret, now=later)
    assert caught.value.error_type == "timestamp_too_old"
    with pytest.raises(WebhookVerificationError) as caught:
        verify_webhook(body, headers, OTHER_SECRET)
    assert caught.value.error_type == "invalid_signature"


def test_our_verify_accepts_what_standardwebhooks_signs_and_it_accepts_what_we_accept() -> None:
    """Both sides of the spec agree on a body with non-ASCII text, signed now."""
    body = _body("team.suspended", {**TEAM, "team_id": "équipe-ü", "status": "suspended"})
    headers = _signed(body, at=datetime.now(timezone.utc))
    event = verify_webhook(body, headers, SECRET)
    assert Webhook(SECRET).verify(body, headers) == json.loads(event.model_dump_json())


def test_the_example_receiver_runs_against_a_server(tmp_path: Path) -> None:
    settings = _live_settings(f"sqlite:///{tmp_path}/saas_litellm.db")
    with live_server(create_app(settings), settings) as url:
        done = subprocess.run(
            [sys.executable, str(ROOT / "examples" / "webhook_receiver.py")],
            env={**os.environ, "SAAS_LITELLM_BASE_URL": url},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(
        re.fullmatch(
            r"job\.completed: job \S+ of hooked-\w+, 1 call\(s\), 1 credit\(s\), 0 left", x
        )
        for x in lines
    ), done.stdout
    assert any(re.fullmatch(r"credits\.exhausted: team hooked-\w+ has 0 credits", x) for x in lines)
    assert lines[-1].startswith("received ['credits.exhausted', 'job.completed'] for team hooked-")
