"""Daily rollups (store/rollups_sql.py) as a state machine (hypothesis), on SQLite and PostgreSQL.

Calls end on random days of the last weeks — at once, or streamed and ended later, or streamed
and closed by the sweep as interrupted (their end, arriving afterwards, changes nothing); jobs
open, close, settle and get charged late; roll-ups run in batches of random sizes between any
of these; retention removes the calls older than a random cut-off (dropping whole months on
PostgreSQL). After every step, every usage figure — per day, per model, the top teams, per job
type of a team and of an organization, over several windows — equals the aggregate computed
here over every call and job there ever was, the removed calls included.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from saas_litellm_server._money import usd
from saas_litellm_server.store import (
    Database,
    calls_sql,
    jobs_sql,
    retention_sql,
    rollups_sql,
    usage_sql,
)

TEAMS = {"t1": "o1", "t2": "o1", "t3": "o2"}
MODELS = ("m1", "m2")
JOB_TYPES = ("a", "b")
KEYS = ("key_1", "key_2", None)
"""The virtual key of a call (``None``: none recorded, as before schema version 16)."""
DAYS_BACK = 45
"""Calls and jobs fall on the last 45 days: three calendar months at most."""


def _midnight(moment: dt.datetime) -> dt.datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass
class Call:
    call_id: str
    job: str
    team: str
    model: str
    created_at: dt.datetime
    status: str
    tokens: int
    cost: int
    key: str | None = None

    @property
    def day(self) -> str:
        return self.created_at.date().isoformat()


@dataclass
class Job:
    job_id: str
    team: str
    job_type: str
    created_at: dt.datetime
    status: str = "pending"
    credits: int = 0

    @property
    def day(self) -> str:
        return self.created_at.date().isoformat()


class Rollups(RuleBasedStateMachine):
    jobs = Bundle("jobs")
    settled = Bundle("settled")
    streams = Bundle("streams")

    def __init__(self, url: str) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.db = Database(url)
        self.run(self.db.connect())
        self.now = dt.datetime.now(dt.timezone.utc)
        self.calls: dict[str, Call] = {}
        self.all_jobs: dict[str, Job] = {}
        self.ids = 0
        self.checks = 0

    def new_id(self) -> str:
        """Ids in order (uuid4s would make the order of rows, and so a run, random)."""
        self.ids += 1
        return f"{self.ids:032x}"

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.run(self.db.disconnect())
        self.loop.close()

    def moment(self, days_back: int, second: int) -> dt.datetime:
        return _midnight(self.now) - dt.timedelta(days=days_back) + dt.timedelta(seconds=second)

    @initialize()
    def setup(self) -> None:
        async def setup() -> None:
            for table in (
                "call_rollups",
                "job_rollups",
                "key_rollups",
                "llm_calls",
                "jobs",
                "teams",
            ):
                await self.db.execute(f"DELETE FROM {table}")
            await self.db.execute("DELETE FROM organizations")
            for org in sorted(set(TEAMS.values())):
                await self.db.execute(
                    "INSERT INTO organizations (organization_id, name, metadata, created_at) "
                    "VALUES (:o, :o, '{}', :c)",
                    {"o": org, "c": self.now},
                )
            for team, org in TEAMS.items():
                await self.db.execute(
                    "INSERT INTO teams (team_id, organization_id, status, key_hash, "
                    "credits_allocated, credits_used, credits_reserved, created_at) "
                    "VALUES (:t, :o, 'active', :h, 0, 0, 0, :c)",
                    {"t": team, "o": org, "h": f"h-{team}", "c": self.now},
                )

        self.run(setup())

    async def _partition_for(self, moment: dt.datetime) -> None:
        # Retention may have dropped the month: this test writes into the past, a server never.
        await retention_sql.ensure_partitions(self.db, now=self.now, start=moment)

    @rule(
        target=jobs,
        team=st.sampled_from(sorted(TEAMS)),
        job_type=st.sampled_from(JOB_TYPES),
        days_back=st.integers(0, DAYS_BACK),
        second=st.integers(0, 86_399),
    )
    def open_job(self, team: str, job_type: str, days_back: int, second: int) -> str:
        job = Job(self.new_id(), team, job_type, self.moment(days_back, second))
        self.run(
            self.db.execute(
                "INSERT INTO jobs (job_id, team_id, job_type, status, metadata, credit_applied, "
                "created_at) VALUES (:j, :t, :y, 'pending', '{}', false, :c)",
                {"j": job.job_id, "t": team, "y": job_type, "c": job.created_at},
            )
        )
        self.all_jobs[job.job_id] = job
        return job.job_id

    def _record(self, job_id: str, days_back: int, second: int, **values: Any) -> Call:
        job = self.all_jobs[job_id]
        call = Call(
            call_id=self.new_id(),
            job=job_id,
            team=job.team,
            model=values["model_alias"],
            created_at=self.moment(days_back, second),
            status=values["status"],
            tokens=values["total_tokens"],
            cost=values["client_cost_micros"],
            key=values.get("key_id"),
        )
        return call

    def _values(self, call: Call, **extra: Any) -> dict[str, Any]:
        return {
            "call_id": call.call_id,
            "created_at": call.created_at,
            "job_id": call.job,
            "team_id": call.team,
            "model_alias": call.model,
            "status": call.status,
            "prompt_tokens": call.tokens // 2,
            "completion_tokens": call.tokens - call.tokens // 2,
            "total_tokens": call.tokens,
            "provider_cost_micros": call.cost // 2,
            "client_cost_micros": call.cost,
            "key_id": call.key,
            **extra,
        }

    @rule(
        job=jobs,
        model=st.sampled_from(MODELS),
        status=st.sampled_from(["success", "failed", "cancelled"]),
        tokens=st.integers(0, 5_000),
        cost=st.integers(0, 10**7),
        days_back=st.integers(0, DAYS_BACK),
        second=st.integers(0, 86_399),
        key=st.sampled_from(KEYS),
    )
    def call(
        self,
        job: str,
        model: str,
        status: str,
        tokens: int,
        cost: int,
        days_back: int,
        second: int,
        key: str | None,
    ) -> None:
        call = self._record(
            job,
            days_back,
            second,
            model_alias=model,
            status=status,
            total_tokens=tokens,
            client_cost_micros=cost,
            key_id=key,
        )

        async def write() -> None:
            await self._partition_for(call.created_at)
            await calls_sql.finish_call(
                self.db,
                reserved_tokens=0,
                reserved_cost_micros=0,
                counted=False,
                **self._values(call),
            )

        self.run(write())
        self.calls[call.call_id] = call

    @rule(
        target=streams,
        job=jobs,
        model=st.sampled_from(MODELS),
        tokens=st.integers(0, 3_000),
        days_back=st.integers(0, DAYS_BACK),
        second=st.integers(0, 86_399),
        key=st.sampled_from(KEYS),
    )
    def start_stream(
        self, job: str, model: str, tokens: int, days_back: int, second: int, key: str | None
    ) -> Call:
        call = self._record(
            job,
            days_back,
            second,
            model_alias=model,
            status="streaming",
            total_tokens=tokens,
            client_cost_micros=tokens * 3,
            key_id=key,
        )
        alive = self.now + dt.timedelta(hours=1)

        async def write() -> None:
            await self._partition_for(call.created_at)
            await calls_sql.checkpoint(
                self.db, alive_until_job=alive, **self._values(call, alive_until=alive)
            )

        self.run(write())
        self.calls[call.call_id] = call
        return call

    @rule(
        stream=consumes(streams),
        status=st.sampled_from(["success", "cancelled", "failed"]),
        more=st.integers(0, 2_000),
    )
    def end_stream(self, stream: Call, status: str, more: int) -> None:
        """The stream's end; after the sweep closed it (interrupted), this changes nothing."""
        ended = Call(**{**stream.__dict__, "status": status, "tokens": stream.tokens + more})
        ended.cost = ended.tokens * 3
        self.run(
            calls_sql.finish_call(
                self.db,
                reserved_tokens=0,
                reserved_cost_micros=0,
                counted=False,
                checkpointed=True,
                **self._values(ended),
            )
        )
        if self.calls[stream.call_id].status == "streaming":
            self.calls[stream.call_id] = ended

    @rule()
    def interrupt(self) -> None:
        """The sweep finds every stream's server gone: failed, with their checkpoint's tokens."""
        self.run(calls_sql.interrupt(self.db, now=self.now + dt.timedelta(days=1)))
        for call in self.calls.values():
            if call.status == "streaming":
                call.status = "failed"

    @rule(
        target=settled,
        job=consumes(jobs),
        status=st.sampled_from(["completed", "failed"]),
        credits=st.integers(0, 9),
    )
    def settle(self, job: str, status: str, credits: int) -> str:
        j = self.all_jobs[job]

        async def settle() -> None:
            async with self.db.transaction():
                closed = await jobs_sql.close_job(
                    self.db, job, j.team, status=status, error_message=None, metadata=None
                )
                assert closed is not None
                assert await jobs_sql.claim_settlement(self.db, job, self.now) is not None
                await jobs_sql.record_settlement(
                    self.db, job, credits_charged=credits, credits_remaining=0
                )

        self.run(settle())
        j.status, j.credits = status, credits
        return job

    @rule(job=settled, extra=st.integers(1, 5))
    def charge_late(self, job: str, extra: int) -> None:
        """A call that ended after its job was settled adds to what the job was charged."""
        j = self.all_jobs[job]

        async def charge() -> None:
            async with self.db.transaction():
                row = await jobs_sql.lock(self.db, job, j.team)
                assert row is not None
                await jobs_sql.record_settlement(
                    self.db,
                    job,
                    credits_charged=row["credits_charged"] + extra,
                    credits_remaining=0,
                    late=row,
                )

        self.run(charge())
        j.credits += extra

    @rule(calls=st.integers(1, 7), jobs=st.integers(1, 4))
    def roll_up(self, calls: int, jobs: int) -> None:
        self.run(rollups_sql.roll_up_calls(self.db, limit=calls))
        self.run(rollups_sql.roll_up_jobs(self.db, limit=jobs))

    @rule(days=st.integers(0, DAYS_BACK + 1), batch=st.integers(1, 4))
    def retention(self, days: int, batch: int) -> None:
        cut_off = _midnight(self.now) - dt.timedelta(days=days)
        self.run(retention_sql.remove_calls_before(self.db, cut_off, batch=batch, batches=3))

    # What the figures must be, from every call and job there ever was.

    def windows(self) -> list[tuple[dt.datetime | None, dt.datetime | None]]:
        today = _midnight(self.now)
        return [
            (None, None),
            (today - dt.timedelta(days=10), None),
            (today - dt.timedelta(days=40), today - dt.timedelta(days=5)),
        ]

    def ended(
        self, since: dt.datetime | None, until: dt.datetime | None, **match: str
    ) -> list[Call]:
        out = []
        for c in self.calls.values():
            if c.status == "streaming":
                continue
            if since is not None and c.created_at < since:
                continue
            if until is not None and c.created_at >= until:
                continue
            if "team" in match and c.team != match["team"]:
                continue
            if "org" in match and TEAMS[c.team] != match["org"]:
                continue
            out.append(c)
        return out

    @staticmethod
    def totals(calls: list[Call], key: Any) -> dict[str, tuple[int, int, int, int]]:
        sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for c in calls:
            s = sums[key(c)]
            s[0] += 1
            s[1] += c.status == "failed"
            s[2] += c.tokens
            s[3] += c.cost
        return {k: (v[0], v[1], v[2], v[3]) for k, v in sums.items()}

    @staticmethod
    def found(rows: list[usage_sql.CallTotalsRow]) -> dict[str, tuple[int, int, int, int]]:
        return {
            r["label"]: (r["calls"], r["errors"], r["tokens"], r["cost_micros"])
            for r in rows
            if r["calls"]
        }

    @invariant()
    def usage_is_every_call_and_job(self) -> None:
        """After each step, over one of the windows in turn."""
        self.checks += 1
        windows = self.windows()
        for since, until in [windows[self.checks % len(windows)]]:
            for team in (None, "t1"):
                scope = {} if team is None else {"team": team}
                calls = self.ended(since, until, **scope)
                by_day = self.run(
                    usage_sql.calls_by_day(
                        self.db,
                        team_id=team,
                        since=since or self.moment(DAYS_BACK + 1, 0),
                        until=until,
                    )
                )
                assert self.found(by_day) == self.totals(calls, lambda c: c.day)
                by_model = self.run(
                    usage_sql.calls_by_model(self.db, team_id=team, since=since, until=until)
                )
                assert self.found(by_model) == self.totals(calls, lambda c: c.model)
            # per virtual key (no key: ""), from key_rollups and the raw rows, as the others
            by_key = self.run(
                usage_sql.calls_by_key(self.db, team_id="t1", since=since, until=until)
            )
            expected = self.totals(self.ended(since, until, team="t1"), lambda c: c.key or "")
            assert {r["key_id"]: (r["calls"], r["tokens"], r["cost_micros"]) for r in by_key} == {
                k: (v[0], v[2], v[3]) for k, v in expected.items()
            }
            # the usage report (GET /api/usage) reads the same sources
            report = self.run(usage_sql.usage_report(self.db, "model", since=since, until=until))
            assert {
                r["group"]: (r["calls"], r["failures"], r["total_tokens"], r["client_cost_micros"])
                for r in report
            } == self.totals(self.ended(since, until), lambda c: c.model)
            top = self.run(usage_sql.top_teams(self.db, since=since, limit=10))
            assert self.found(top) == self.totals(self.ended(since, None), lambda c: c.team)
            for team, org in (("t1", None), ("t3", None), (None, "o1")):
                rows = self.run(
                    usage_sql.usage_by_job_type(self.db, team, since, until, organization_id=org)
                )
                assert {r["job_type"]: r for r in rows} == self.by_job_type(
                    since, until, team=team, org=org
                )

    def by_job_type(
        self,
        since: dt.datetime | None,
        until: dt.datetime | None,
        *,
        team: str | None,
        org: str | None,
    ) -> dict[str, dict[str, Any]]:
        out: dict[str, Counter[str]] = defaultdict(Counter)
        for j in self.all_jobs.values():
            if (team and j.team != team) or (org and TEAMS[j.team] != org):
                continue
            if (since and j.created_at < since) or (until and j.created_at >= until):
                continue
            c = out[j.job_type]
            c["jobs"] += 1
            c["completed"] += j.status == "completed"
            c["failed"] += j.status == "failed"
            c["credits"] += j.credits
        match = {"team": team} if team else {"org": org or ""}
        for call in self.ended(since, until, **match):
            c = out[self.all_jobs[call.job].job_type]
            c["calls"] += 1
            c["tokens"] += call.tokens
            c["cost_micros"] += call.cost
        return {
            job_type: {
                "job_type": job_type,
                "jobs": c["jobs"],
                "completed": c["completed"],
                "failed": c["failed"],
                "credits": c["credits"],
                "calls": c["calls"],
                "tokens": c["tokens"],
                "cost_usd": usd(c["cost_micros"]),
            }
            for job_type, c in out.items()
        }


@pytest.mark.timeout(300)  # 15 runs of 30 steps, every figure checked after each: 40-90 s here
def test_usage_figures_are_every_call_whatever_was_rolled_up_or_removed(
    database_url: str,
) -> None:
    run_state_machine_as_test(
        lambda: Rollups(database_url),
        settings=settings(
            max_examples=15,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
