"""Billing as a state machine (hypothesis), over real HTTP on SQLite and PostgreSQL, against an
upstream that counts as much as the server's bound allows (the stub's ``greedy``: a prompt token
per UTF-8 byte, an answer as long as permitted).

Teams in every budget mode; jobs with and without limits; calls plain, streamed, failed upstream,
cut by the client after their content, still streaming when their job is completed; grants,
adjustments, auto-refills set, reset and switched; suspensions. After every step, for every team:
its ledger adds up to its balance, nothing is negative or overspent, what it holds is what its
unsettled jobs hold, what it was charged is what its jobs were charged, and every settled job
was charged exactly what its mode says its recorded calls cost — computed here, from the calls —
with no per-job limit exceeded."""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from support import GROUP, ORG, bearer, live_server

from saas_litellm_server import Settings, create_app

TEXT = st.text(alphabet=st.sampled_from(["a", " ", "é", "漢", "🦊", "\n"]), min_size=1, max_size=40)
MODES: list[dict[str, Any]] = [
    {"budget_mode": "job_based"},
    {"budget_mode": "consumption_tokens", "tokens_per_credit": 7},
    {"budget_mode": "consumption_tokens", "tokens_per_credit": 1},
    {"budget_mode": "consumption_usd", "credits_per_dollar": 2.5, "markup_percent": 12.5},
    {"budget_mode": "consumption_usd", "credits_per_dollar": 1000.0},
]
LIMITS: list[dict[str, Any] | None] = [
    None,
    {"max_tokens": 300},
    {"max_cost_usd": 0.02},
    {"max_credits": 3},
]
PRICES = {"input_cost_per_million": 100.0, "output_cost_per_million": 300.0}
"""$100 and $300 per million tokens: a call of a few hundred tokens costs cents."""


@dataclass
class Stream:
    """A gated stream whose client has every content chunk, its end held by the stub."""

    job: str
    team: str
    gate: str
    response: httpx.Response
    lines: Iterator[str]


@dataclass
class Team:
    team_id: str
    key: str
    mode: dict[str, Any]
    jobs: list[str] = field(default_factory=list)


class Billing(RuleBasedStateMachine):
    jobs = Bundle("jobs")
    """Jobs that were open when last seen (a job is drawn here until a completion takes it)."""
    closed = Bundle("closed")
    streams = Bundle("streams")

    def __init__(self, url: str, upstream: str) -> None:
        super().__init__()
        self.http = httpx.Client(base_url=url, timeout=30)
        self.upstream = upstream
        self.prefix = uuid.uuid4().hex[:8]
        self.teams: dict[str, Team] = {}
        self.open: list[Stream] = []

    def teardown(self) -> None:
        for stream in self.open:
            stream.response.close()
        httpx.post(f"{self.upstream}/_stub/reset")
        self.http.close()

    # -- helpers ---------------------------------------------------------------------------

    def _alias(self, name: str, model: str) -> None:
        r = self.http.post(
            "/api/model-aliases/create",
            json={
                "model_alias": name,
                "access_groups": [GROUP],
                "deployments": [{"provider": "openai", "model": model, **PRICES}],
            },
        )
        assert r.status_code == 201, r.text

    def _as(self, team: Team) -> dict[str, str]:
        return bearer(team.key)

    def _wait_settled_calls(self, job: str, team: Team) -> None:
        """Until the server recorded every call of ``job`` that is not held open here (a cut
        stream is recorded once the server sees the client gone), and settled the job if that
        was its last call in flight: nothing moves in the background when the books are read."""
        held = sum(1 for s in self.open if s.job == job)
        deadline = time.monotonic() + 10
        while True:
            detail = self._job(team, job)
            recorded = sum(c["status"] == "streaming" for c in detail["calls"]) == held
            settling = detail["costs"]["credit_reason"] == "calls in flight: settled when they end"
            if recorded and (held or not settling):
                return
            assert time.monotonic() < deadline, f"job {job}: calls still in flight"
            time.sleep(0.01)

    def _job(self, team: Team, job: str) -> dict[str, Any]:
        r = self.http.get(f"/api/jobs/{job}", headers=self._as(team))
        assert r.status_code == 200, r.text
        detail: dict[str, Any] = r.json()
        return detail

    # -- set-up ----------------------------------------------------------------------------

    @initialize(
        modes=st.lists(st.sampled_from(range(len(MODES))), min_size=2, max_size=2),
        credits=st.lists(
            st.one_of(st.just(0), st.integers(1, 5), st.integers(50, 400)), min_size=2, max_size=2
        ),
    )
    def set_up(self, modes: list[int], credits: list[int]) -> None:
        self._alias(f"Greedy-{self.prefix}", "greedy")
        self._alias(f"Broken-{self.prefix}", "error-500")
        for i, (mode, amount) in enumerate(zip(modes, credits)):
            team_id = f"t{i}-{self.prefix}"
            r = self.http.post(
                "/api/teams/create",
                json={
                    "organization_id": ORG,
                    "team_id": team_id,
                    "access_groups": [GROUP],
                    "credits_allocated": amount,
                    "default_model": f"Greedy-{self.prefix}",
                    "low_balance_threshold": 10,
                    **MODES[mode],
                },
            )
            assert r.status_code == 201, r.text
            self.teams[team_id] = Team(team_id, r.json()["virtual_key"], MODES[mode])

    def _team(self, index: int) -> Team:
        return list(self.teams.values())[index % len(self.teams)]

    # -- jobs and calls ----------------------------------------------------------------------

    @rule(target=jobs, who=st.integers(0, 1), limits=st.sampled_from(LIMITS))
    def create_job(self, who: int, limits: dict[str, Any] | None) -> Any:
        team = self._team(who)
        body: dict[str, Any] = {"team_id": team.team_id, "job_type": "p"}
        if limits:
            body["limits"] = limits
        r = self.http.post("/api/jobs/create", json=body, headers=self._as(team))
        assert r.status_code in (201, 402, 403), r.text
        if r.status_code != 201:
            return multiple()
        team.jobs.append(r.json()["job_id"])
        return (team.team_id, r.json()["job_id"])

    @rule(
        job=jobs,
        content=TEXT,
        max_tokens=st.integers(1, 80),
        how=st.sampled_from(["plain", "stream", "upstream-fails"]),
    )
    def call(self, job: tuple[str, str], content: str, max_tokens: int, how: str) -> None:
        team, job_id = self.teams[job[0]], job[1]
        model = f"Broken-{self.prefix}" if how == "upstream-fails" else f"Greedy-{self.prefix}"
        body = {
            "messages": [{"role": "user", "content": content}],
            "max_tokens": max_tokens,
            "model": model,
        }
        path = f"/api/jobs/{job_id}/llm-call" + ("-stream" if how == "stream" else "")
        r = self.http.post(path, json=body, headers=self._as(team))
        expected = {402, 403, 409, 502 if how == "upstream-fails" else 200}
        assert r.status_code in expected, (how, r.status_code, r.text)
        event(f"call {how}: {r.status_code}")

    @rule(target=streams, job=jobs, content=TEXT, max_tokens=st.integers(1, 80))
    def start_stream(self, job: tuple[str, str], content: str, max_tokens: int) -> Any:
        team, job_id = self.teams[job[0]], job[1]
        gate = uuid.uuid4().hex[:12]
        self._alias(f"Gate-{gate}", f"gate-{gate}")
        body = {
            "messages": [{"role": "user", "content": content}],
            "max_tokens": max_tokens,
            "model": f"Gate-{gate}",
        }
        request = self.http.build_request(
            "POST", f"/api/jobs/{job_id}/llm-call-stream", json=body, headers=self._as(team)
        )
        response = self.http.send(request, stream=True)
        if response.status_code != 200:
            response.read()
            assert response.status_code in (402, 403, 409), response.text
            response.close()
            return multiple()
        lines = response.iter_lines()
        got = 0
        for line in lines:  # every content chunk: the stub holds the end
            if line.startswith("data: ") and '"type":"chunk"' in line:
                got += len(json.loads(line[6:])["content"])
            if got >= max_tokens:
                break
        stream = Stream(job_id, team.team_id, gate, response, lines)
        self.open.append(stream)
        event("stream held open")
        return stream

    @rule(stream=consumes(streams))
    def cut_stream(self, stream: Stream) -> None:
        """The client hangs up before the end: what reached it is paid for."""
        stream.response.close()
        self.open.remove(stream)
        self._wait_settled_calls(stream.job, self.teams[stream.team])

    @rule(stream=consumes(streams))
    def finish_stream(self, stream: Stream) -> None:
        httpx.post(f"{self.upstream}/_stub/release/{stream.gate}")
        rest = list(stream.lines)
        stream.response.close()
        self.open.remove(stream)
        assert "event: done" in rest
        self._wait_settled_calls(stream.job, self.teams[stream.team])

    @rule(
        target=closed,
        job=consumes(jobs),
        status=st.sampled_from(["completed", "completed", "failed"]),
    )
    def complete(self, job: tuple[str, str], status: str) -> tuple[str, str]:
        team, job_id = self.teams[job[0]], job[1]
        r = self.http.post(
            f"/api/jobs/{job_id}/complete", json={"status": status}, headers=self._as(team)
        )
        assert r.status_code in (200, 409), r.text
        if r.status_code == 200 and r.json()["costs"]["calls_in_flight"]:
            event("completed with calls in flight")
        return job

    @rule(job=closed, status=st.sampled_from(["completed", "failed"]), call=st.booleans())
    def after_closing(self, job: tuple[str, str], status: str, call: bool) -> None:
        """A closed job takes no call (409), and repeats its completion or refuses the other."""
        team, job_id = self.teams[job[0]], job[1]
        if call:
            r = self.http.post(
                f"/api/jobs/{job_id}/llm-call",
                json={"messages": [{"role": "user", "content": "late"}]},
                headers=self._as(team),
            )
            assert r.status_code in (403, 409), r.text
        else:
            r = self.http.post(
                f"/api/jobs/{job_id}/complete", json={"status": status}, headers=self._as(team)
            )
            assert r.status_code in (200, 409), r.text

    # -- credits -----------------------------------------------------------------------------

    @rule(
        who=st.integers(0, 1),
        action=st.sampled_from(["grant", "adjust", "adjust", "refill", "suspend", "resume"]),
        credits=st.integers(-100, 200).filter(bool),
        period=st.sampled_from(["daily", "weekly", "monthly"]),
        mode=st.sampled_from(["add", "top_up"]),
        reset=st.booleans(),
    )
    def operator(
        self, who: int, action: str, credits: int, period: str, mode: str, reset: bool
    ) -> None:
        """What the operator does to a team's credits: grant, adjust (either way), set an
        auto-refill (after a DELETE, or switching its period; a job create short of credit
        applies it), suspend or resume."""
        team = self._team(who)
        base = f"/api/teams/{team.team_id}"
        if action == "grant":
            r = self.http.post(f"{base}/credits/add", json={"credits": abs(credits)})
            assert r.status_code == 200, r.text
        elif action == "adjust":
            r = self.http.post(
                f"{base}/credits/adjust", json={"credits": credits, "reason": "property"}
            )
            assert r.status_code in (200, 409), r.text
        elif action == "refill":
            if reset:
                assert self.http.delete(f"{base}/auto-refill").status_code == 200
            r = self.http.put(
                f"{base}/auto-refill",
                json={"amount": abs(credits), "period": period, "mode": mode},
            )
            assert r.status_code == 200, r.text
        else:
            assert self.http.post(f"{base}/{action}").status_code == 200
        event(f"operator {action}: {r.status_code if action in ('grant', 'adjust') else 200}")

    # -- what must always hold -------------------------------------------------------------

    @invariant()
    def the_books_balance(self) -> None:
        for team in self.teams.values():
            self._check(team)

    def _check(self, team: Team) -> None:
        balance = self.http.get("/api/credits/balance", headers=self._as(team)).json()
        r = self.http.get(
            f"/api/teams/{team.team_id}/transactions", params={"limit": 500}, headers=self._as(team)
        )
        ledger = r.json()["transactions"]
        remaining = balance["credits_remaining"]
        assert sum(t["credits"] for t in ledger) == remaining
        assert ledger[0]["credits_remaining_after"] == remaining if ledger else remaining == 0
        assert balance["credits_used"] >= 0 and balance["credits_reserved"] >= 0
        assert balance["credits_used"] + balance["credits_reserved"] <= balance["credits_allocated"]
        charged = held = 0
        for job_id in team.jobs:
            detail = self._job(team, job_id)
            costs, calls = detail["costs"], detail["calls"]
            charged += costs["credits_charged"]
            held += costs["credits_reserved"]
            final = [c for c in calls if c["status"] != "streaming"]
            tokens = sum(c["total_tokens"] for c in final)
            micros = sum(round(c["client_cost_usd"] * 1_000_000) for c in final)
            assert costs["total_tokens"] == tokens  # the running totals are the calls'
            limits = detail["limits"] or {}
            if limits.get("max_tokens") is not None:
                assert tokens <= limits["max_tokens"]
            if limits.get("max_cost_usd") is not None:
                assert micros <= round(limits["max_cost_usd"] * 1_000_000)
            if limits.get("max_credits") is not None:
                assert costs["credits_charged"] <= limits["max_credits"]
            settled = (
                detail["status"] in ("completed", "failed")
                and costs["credit_reason"] != "calls in flight: settled when they end"
            )
            if settled:
                event(f"settled {detail['status']}, charged {bool(costs['credits_charged'])}")
                if any(c["status"] == "cancelled" for c in calls):
                    event("settled with a cut call")
                assert costs["credits_reserved"] == 0
                assert costs["credits_charged"] == _charge(team.mode, detail, tokens, micros)
            else:
                assert costs["credits_charged"] == 0
        assert balance["credits_used"] == charged
        assert balance["credits_reserved"] == held


def _charge(mode: dict[str, Any], detail: dict[str, Any], tokens: int, micros: int) -> int:
    """What the mode says a settled job costs, from its recorded calls."""
    billable = any(c["status"] in ("success", "cancelled") for c in detail["calls"])
    if detail["status"] != "completed" or not billable:
        return 0
    if mode["budget_mode"] == "consumption_tokens":
        return max(1, math.ceil(Fraction(tokens, mode["tokens_per_credit"])))
    if mode["budget_mode"] == "consumption_usd":
        per_dollar = Fraction(str(mode["credits_per_dollar"]))
        return max(1, math.ceil(Fraction(micros, 1_000_000) * per_dollar))
    return 1


@pytest.fixture
def served(upstream_settings: Settings, upstream: str) -> Iterator[tuple[str, str]]:
    # held streams stay open for many steps (a busy machine makes them long): no timeout
    patient = upstream_settings.model_copy(
        update={"maintenance_interval_seconds": 3600, "upstream_timeout": 120.0}
    )
    with live_server(create_app(patient)) as url:
        httpx.post(f"{url}/api/organizations/create", json={"organization_id": ORG, "name": "A"})
        httpx.post(f"{url}/api/model-access-groups/create", json={"group_name": GROUP})
        yield url, upstream


@pytest.mark.timeout(900)  # 40 sequences of 50 steps over HTTP: 2-9 minutes
def test_billing_holds_under_any_sequence(served: tuple[str, str]) -> None:
    url, upstream = served
    run_state_machine_as_test(
        lambda: Billing(url, upstream),
        settings=settings(
            max_examples=40,
            stateful_step_count=50,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
