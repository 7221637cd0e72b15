"""The credit ledger as a state machine (hypothesis): any sequence of job creates, calls,
completions (right, repeated or contradictory) and top-ups keeps the server's balance equal to a
model's, and never lets a team spend what it does not have."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule
from support import TEAM, bearer, create_team

from saas_litellm_server import Settings, create_app

MSG = {"messages": [{"role": "user", "content": "step"}]}


class CreditLedger(RuleBasedStateMachine):
    jobs = Bundle("jobs")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.tmp = tempfile.TemporaryDirectory()
        url = f"sqlite:///{Path(self.tmp.name) / 'ledger.db'}"
        self.app = create_app(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
        self.lifespan = self.app.router.lifespan_context(self.app)
        self.run(self.lifespan.__aenter__())
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://localhost"
        )
        self.key = self.run(create_team(self.http, credits=3))
        self.allocated, self.used = 3, 0
        self.open: set[str] = set()
        self.closed: dict[str, str] = {}
        self.succeeded: set[str] = set()  # jobs with a successful call

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.run(self.http.aclose())
        self.run(self.lifespan.__aexit__(None, None, None))
        self.loop.close()
        self.tmp.cleanup()

    @rule(target=jobs)
    def create(self) -> str:
        r = self.run(
            self.http.post(
                "/api/jobs/create",
                json={"team_id": TEAM, "job_type": "p"},
                headers=bearer(self.key),
            )
        )
        if self.allocated - self.used - len(self.open) >= 1:
            assert r.status_code == 201, r.text
            self.open.add(r.json()["job_id"])
            return str(r.json()["job_id"])
        assert r.status_code == 402
        return "00000000-0000-4000-8000-000000000000"  # a job that does not exist

    @rule(job=jobs)
    def call(self, job: str) -> None:
        r = self.run(
            self.http.post(f"/api/jobs/{job}/llm-call", json=MSG, headers=bearer(self.key))
        )
        expected = 200 if job in self.open else 409 if job in self.closed else 404
        assert r.status_code == expected
        if expected == 200:
            self.succeeded.add(job)

    @rule(job=jobs, status=st.sampled_from(["completed", "failed"]))
    def complete(self, job: str, status: str) -> None:
        r = self.run(
            self.http.post(
                f"/api/jobs/{job}/complete", json={"status": status}, headers=bearer(self.key)
            )
        )
        if job in self.open:
            assert r.status_code == 200
            self.open.discard(job)
            self.closed[job] = status
            charged = status == "completed" and job in self.succeeded  # no call, no charge
            assert r.json()["costs"]["credit_applied"] is charged
            self.used += charged
        elif job in self.closed:
            assert r.status_code == (200 if self.closed[job] == status else 409)
        else:
            assert r.status_code == 404

    @rule(credits=st.integers(1, 3))
    def top_up(self, credits: int) -> None:
        r = self.run(self.http.post(f"/api/teams/{TEAM}/credits/add", json={"credits": credits}))
        assert r.status_code == 200
        self.allocated += credits

    @invariant()
    def balance_matches_the_model(self) -> None:
        b = self.run(self.http.get("/api/credits/balance", headers=bearer(self.key))).json()
        assert b["credits_allocated"] == self.allocated
        assert b["credits_used"] == self.used
        assert b["credits_reserved"] == len(self.open)
        assert b["credits_used"] + b["credits_reserved"] <= b["credits_allocated"]


CreditLedger.TestCase.settings = settings(
    max_examples=15,
    stateful_step_count=25,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
test_credit_ledger = CreditLedger.TestCase
