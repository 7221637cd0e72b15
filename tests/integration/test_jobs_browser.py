"""The jobs page and a call's page in a real browser (headless Chromium), local-dev mode: filter
every team's jobs by model, open a job, open its call and read the content its team keeps (as
text), all fitting a 1280 px window. With ``SAAS_LITELLM_SCREENSHOTS=docs`` it saves
``docs/dashboard-jobs.png`` and ``docs/dashboard-call.png``."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from browser import fill, overflow, served, shot, sideways, text, wait_for
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select
from support import headless_chromium

from saas_litellm_server import Settings, create_app

PROMPT = "Summarise <b>this</b> contract in one line"


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    yield from headless_chromium("--window-size=1280,900", "--hide-scrollbars")


def _setup(url: str) -> dict[str, str]:
    """Two teams (acme-corp keeps its calls' content), two aliases, three jobs."""
    with httpx.Client(base_url=url, timeout=30) as http:
        keys = {}
        for team, org, keep in (("acme-corp", "org_acme", True), ("globex", "org_globex", False)):
            assert http.post(
                "/api/organizations/create", json={"organization_id": org, "name": org}
            ).status_code in (201, 409)
            assert http.post(
                "/api/model-access-groups/create", json={"group_name": "chat"}
            ).status_code in (201, 409)
            r = http.post(
                "/api/teams/create",
                json={
                    "organization_id": org,
                    "team_id": team,
                    "access_groups": ["chat"],
                    "credits_allocated": 100,
                    "store_content": keep,
                },
            )
            assert r.status_code == 201, r.text
            keys[team] = r.json()["virtual_key"]
        for alias in ("fast-chat", "deep-chat"):
            r = http.post(
                "/api/model-aliases/create",
                json={
                    "model_alias": alias,
                    "access_groups": ["chat"],
                    "deployments": [
                        {
                            "provider": "mock",
                            "model": f"mock-{alias}",
                            "input_cost_per_million": 2.5,
                            "output_cost_per_million": 10.0,
                        }
                    ],
                },
            )
            assert r.status_code == 201, r.text
        jobs = {}
        for name, team, alias in (
            ("contract", "acme-corp", "fast-chat"),
            ("report", "acme-corp", "deep-chat"),
            ("other", "globex", "deep-chat"),
        ):
            auth = {"Authorization": f"Bearer {keys[team]}"}
            r = http.post(
                "/api/jobs/create-and-call",
                json={
                    "team_id": team,
                    "job_type": f"{name}_review",
                    "model": alias,
                    "messages": [{"role": "user", "content": PROMPT}],
                },
                headers=auth,
            )
            assert r.status_code == 200, r.text
            jobs[name] = r.headers["x-job-id"]
        return jobs


def test_an_operator_filters_jobs_opens_one_and_reads_its_call(
    browser: webdriver.Chrome, settings: Settings
) -> None:
    driver = browser
    with served(driver, create_app(settings)) as url:
        jobs = _setup(url)
        driver.get(f"{url}/admin")
        driver.find_element(By.LINK_TEXT, "Jobs").click()
        wait_for(lambda: driver.title.startswith("Jobs"), "the jobs page")
        rows = driver.find_elements(By.CSS_SELECTOR, "#all-jobs tbody tr")
        assert len(rows) == 3

        # -- filtered: one team's jobs with a call to fast-chat
        fill(driver, "f-team", "acme-corp")
        fill(driver, "f-model", "fast-chat")
        Select(driver.find_element(By.ID, "f-errors")).select_by_value("no")
        driver.find_element(By.ID, "filter-jobs").click()
        wait_for(lambda: "model=fast-chat" in driver.current_url, "the filtered list")
        rows = driver.find_elements(By.CSS_SELECTOR, "#all-jobs tbody tr")
        assert len(rows) == 1
        cells = [c.text for c in rows[0].find_elements(By.TAG_NAME, "td")]
        assert cells[0] == jobs["contract"][:8] + "…"
        assert cells[1:4] == ["acme-corp", "contract_review", "completed"]
        assert cells[5] == "1" and cells[9] == "1" and cells[10] == ""  # one call, 1 credit
        assert cells[7].startswith("$") and cells[8].startswith("$")
        assert overflow(driver) == [] and sideways(driver) == []
        shot(driver, "jobs")

        # -- the job, then its call
        rows[0].find_element(By.TAG_NAME, "a").click()
        wait_for(lambda: jobs["contract"] in driver.title or "Job" in driver.title, "the job")
        driver.find_element(By.CSS_SELECTOR, '#calls a[aria-label="Call 1"]').click()
        wait_for(lambda: driver.title.startswith("Call"), "the call page")
        summary = driver.find_element(By.ID, "call-summary").text
        assert "fast-chat" in summary and "mock / mock-fast-chat" in summary
        assert "success" in summary
        request = driver.find_element(By.ID, "request-content").text
        assert PROMPT in request  # its markup shown as text, not rendered
        assert driver.find_elements(By.CSS_SELECTOR, "#request-content b") == []
        assert "You said" in driver.find_element(By.ID, "response-content").text
        attempts = driver.find_element(By.ID, "attempts").text
        assert "mock-fast-chat" in attempts and "answered" in attempts
        assert overflow(driver) == [] and sideways(driver) == []
        shot(driver, "call")

        # -- a team that keeps nothing: its call says so
        driver.get(f"{url}/admin/jobs?team_id=globex")
        driver.find_element(By.CSS_SELECTOR, "#all-jobs tbody a").click()
        driver.find_element(By.CSS_SELECTOR, '#calls a[aria-label="Call 1"]').click()
        wait_for(lambda: driver.title.startswith("Call"), "the other call")
        assert "does not keep its calls' content" in text(driver)
        assert PROMPT not in text(driver)
