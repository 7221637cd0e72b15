"""Billing from the dashboard in a real browser (headless Chromium), end to end: a team whose
two virtual keys made calls through the SDK; the operator changes its budget mode, takes
credits back with an adjustment (confirmed on a page of its own), sees the ledger row and the
balance, and the spend of each key; the page fits 1280 px. Saves the ``billing`` screenshot
(``SAAS_LITELLM_SCREENSHOTS=docs``).

Needs Debian's ``chromium`` and ``chromium-driver``; without them this skips, unless
``SAAS_LITELLM_REQUIRE_BROWSER=1`` (as in CI).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from browser import fill, overflow, served, shot, sideways, text, wait_for
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select
from support import TEAM, create_team, run_sync

from saas_litellm_client import SaasLiteLLMClient
from saas_litellm_server import Settings, create_app


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    from support import headless_chromium

    yield from headless_chromium("--window-size=1280,900", "--hide-scrollbars")


async def _setup(url: str) -> dict[str, object]:
    """A team with two keys; one job per key through the SDK (one call, then two); what the
    API then says of its usage."""
    async with httpx.AsyncClient(base_url=url) as http:
        first = await create_team(http, credits=100)
        r = await http.post(f"/api/teams/{TEAM}/keys", json={"name": "nightly-batch"})
        second = r.json()["virtual_key"]
        for key, calls in ((first, 1), (second, 2)):
            async with SaasLiteLLMClient(base_url=url, team_id=TEAM, virtual_key=key) as sdk:
                job = await sdk.create_job("summary")
                for i in range(calls):
                    await sdk.llm_call(
                        job_id=job.job_id,
                        model="default",
                        messages=[{"role": "user", "content": f"question {i}"}],
                    )
                await sdk.complete_job(job.job_id, "completed")
        usage = (await http.get(f"/api/teams/{TEAM}/usage")).json()["by_job_type"][0]
        keys = (await http.get(f"/api/teams/{TEAM}/keys")).json()["keys"]
        return {"usage": usage, "prefixes": {k["name"]: k["prefix"] for k in keys}}


def _rows(driver: webdriver.Chrome, table_id: str) -> list[list[str]]:
    return [
        [c.text for c in row.find_elements(By.TAG_NAME, "td")]
        for row in driver.find_elements(By.CSS_SELECTOR, f"#{table_id} tbody tr")
    ]


def test_an_operator_bills_a_team_from_the_browser(
    browser: webdriver.Chrome, settings: Settings
) -> None:
    driver = browser
    with served(driver, create_app(settings)) as url:
        found = run_sync(_setup(url))
        usage = found["usage"]
        assert isinstance(usage, dict)
        driver.get(f"{url}/admin/teams/{TEAM}")
        assert driver.find_element(By.ID, "credits-remaining").text == "98"  # two jobs, 1 each

        # -- the budget mode: consumption_tokens needs its rate; the page says so, then saves
        Select(driver.find_element(By.ID, "b-mode")).select_by_visible_text("consumption_tokens")
        driver.find_element(By.ID, "save-billing").click()
        wait_for(lambda: "needs tokens_per_credit" in text(driver), "the missing rate's message")
        driver.back()
        wait_for(lambda: driver.find_elements(By.ID, "b-tokens"), "the team page")
        Select(driver.find_element(By.ID, "b-mode")).select_by_visible_text("consumption_tokens")
        fill(driver, "b-tokens", "1000")
        driver.find_element(By.ID, "save-billing").click()
        wait_for(lambda: "done=billing" in driver.current_url, "the saved settings")
        assert "applies to jobs opened from now on" in text(driver)
        assert (
            driver.find_element(By.ID, "budget-mode").text
            == "consumption_tokens: 1,000 tokens per credit"
        )

        # -- a negative adjustment: a page asks first, then the ledger and the balance show it
        fill(driver, "a-credits", "-8")
        fill(driver, "a-reason", "duplicate grant")
        driver.find_element(By.ID, "adjust-credits").click()
        wait_for(lambda: "Take 8 credits from team acme-corp?" in text(driver), "the confirmation")
        driver.find_element(By.ID, "confirm").click()
        wait_for(lambda: "done=adjusted" in driver.current_url, "the adjusted team")
        assert driver.find_element(By.ID, "credits-remaining").text == "90"
        latest = _rows(driver, "ledger")[0]
        assert latest[1:4] == ["adjustment", "-8", "90"] and latest[5] == "duplicate grant"

        # -- spend per key: the SDK's calls, per key, adding up to the team's usage
        spend = {row[0]: row for row in _rows(driver, "key-spend")}
        prefixes = found["prefixes"]
        assert isinstance(prefixes, dict)
        assert spend["nightly-batch"][1] == f"{prefixes['nightly-batch']}…"
        assert (spend["nightly-batch"][2], spend["default"][2]) == ("2", "1")
        tokens = sum(int(row[3].replace(",", "")) for row in spend.values())
        assert tokens == usage["tokens"] and usage["calls"] == 3
        assert driver.find_element(By.ID, "ledger-csv").get_attribute("href") == (
            f"{url}/admin/teams/{TEAM}/transactions.csv"
        )

        driver.find_element(By.ID, "billing-h").location_once_scrolled_into_view  # noqa: B018
        assert overflow(driver) == [] and sideways(driver) == []
        shot(driver, "billing")

        # -- the usage page, grouped by key figures' neighbour: per team, with its CSV link
        driver.find_element(By.LINK_TEXT, "Usage").click()
        wait_for(lambda: driver.find_elements(By.ID, "usage"), "the usage page")
        assert _rows(driver, "usage")[0][:2] == [TEAM, "3"]
        assert overflow(driver) == [] and sideways(driver) == []
