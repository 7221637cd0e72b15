"""For ``tests/clients`` (``nox -s clients``): the live server the third-party clients talk to,
and what the native API says their calls did: the team's jobs, their calls, the ledger."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from support import TEAM, bearer

CREDITS = 100
CHAT = "Mock"
EMBED = "Embed"


@dataclass
class Gateway:
    url: str
    key: str
    native: httpx.Client

    def jobs(self) -> list[dict[str, Any]]:
        """The team's jobs, oldest first, each with its calls."""
        r = self.native.get(f"/api/teams/{TEAM}/jobs", headers=bearer(self.key))
        assert r.status_code == 200, r.text
        assert r.json()["next_cursor"] is None
        details = []
        for job in reversed(r.json()["jobs"]):
            one = self.native.get(f"/api/jobs/{job['job_id']}", headers=bearer(self.key))
            assert one.status_code == 200, one.text
            details.append(one.json())
        return details

    def assert_billed(self, calls: int, job_type: str = "chat") -> list[dict[str, Any]]:
        """``calls`` single-call jobs of ``job_type``, each completed with one successful call
        and charged one credit; the ledger's transactions add up to the balance. The jobs."""
        jobs = self.jobs()
        assert [j["job_type"] for j in jobs] == [job_type] * calls
        assert all(j["status"] == "completed" for j in jobs)
        assert all([c["status"] for c in j["calls"]] == ["success"] for j in jobs)
        assert all(j["costs"]["credits_charged"] == 1 for j in jobs)
        balance = self.native.get("/api/credits/balance", headers=bearer(self.key)).json()
        assert (balance["credits_remaining"], balance["credits_reserved"]) == (
            CREDITS - calls,
            0,
        )
        r = self.native.get(f"/api/teams/{TEAM}/transactions", headers=bearer(self.key))
        assert r.status_code == 200, r.text
        transactions = r.json()["transactions"]
        assert sum(t["credits"] for t in transactions) == balance["credits_remaining"]
        assert sorted(t["job_id"] for t in transactions if t["kind"] == "charge") == sorted(
            j["job_id"] for j in jobs
        )
        return jobs
