"""The admin dashboard in a real browser (headless Chromium), end to end: sign in with the admin
key, create an organization, an access group, a model alias and a team, copy the team's key,
run a job through the SDK with it, find the job with its calls and cost on the team's page, add
credits, suspend the team (the API then answers 403) and sign out. Also: the pages fit a
1280 px and a phone-width window, and work with the keyboard.

Needs Debian's ``chromium`` and ``chromium-driver``; without them this skips, unless
``SAAS_LITELLM_REQUIRE_BROWSER=1`` (as in CI). With ``SAAS_LITELLM_SCREENSHOTS=<dir>`` it saves
the screenshots of docs/dashboard.md there (``SAAS_LITELLM_SCREENSHOTS=docs``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from browser import (
    accept_confirm,
    fill,
    label_for,
    overflow,
    served,
    shot,
    sideways,
    text,
    wait_for,
)
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select
from support import headless_chromium, run_sync

from saas_litellm_client import PermissionDeniedError, SaasLiteLLMClient
from saas_litellm_server import Settings, create_app

ADMIN_KEY = "adm-browser-secret"
GROUP_BOX = 'input[name="access_groups"][value="gpt-models"]'


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    yield from headless_chromium("--window-size=1280,900", "--hide-scrollbars")


async def run_job(base_url: str, key: str) -> str:
    """A job with two calls through the SDK, completed; its id."""
    async with SaasLiteLLMClient(base_url=base_url, team_id="acme-corp", virtual_key=key) as sdk:
        job = await sdk.create_job("document_analysis")
        for question in ("Summarise this", "And in one word?"):
            await sdk.llm_call(
                job_id=job.job_id,
                model="fast-chat",
                messages=[{"role": "user", "content": question}],
            )
        await sdk.complete_job(job.job_id, "completed")
        return job.job_id


async def try_new_job(base_url: str, key: str) -> None:
    async with SaasLiteLLMClient(base_url=base_url, team_id="acme-corp", virtual_key=key) as sdk:
        await sdk.create_job("after_suspension")


@pytest.mark.parametrize("admin_key", [ADMIN_KEY])
def test_an_operator_runs_the_saas_from_the_dashboard(
    browser: webdriver.Chrome, settings: Settings
) -> None:
    driver = browser
    with served(driver, create_app(settings)) as url:
        # -- no session: the sign-in page, and no data
        driver.get(f"{url}/admin/teams")
        assert driver.current_url == f"{url}/admin/login"
        assert label_for(driver, "admin_key") == "Admin key or operator key"
        shot(driver, "login")
        fill(driver, "admin_key", "not-the-key").send_keys(Keys.ENTER)
        wait_for(lambda: "not the admin key" in text(driver), "the sign-in error")
        fill(driver, "admin_key", ADMIN_KEY).send_keys(Keys.ENTER)  # the keyboard signs in
        wait_for(
            lambda: driver.current_url == f"{url}/admin",
            lambda: f"the overview, not {driver.current_url}: {text(driver)}",
        )
        assert "Overview" in text(driver) and "Sign out" in text(driver)
        assert ADMIN_KEY not in driver.current_url

        # -- an organization
        driver.find_element(By.LINK_TEXT, "Organizations").click()
        fill(driver, "organization_id", "org_acme")
        fill(driver, "org-name", "Acme Inc.")
        driver.find_element(By.ID, "create-organization").click()
        wait_for(lambda: "Organization created." in text(driver), "the organization")

        # -- an access group and a model alias with prices
        driver.find_element(By.LINK_TEXT, "Models").click()
        fill(driver, "group_name", "gpt-models")
        fill(driver, "group-description", "Chat models")
        driver.find_element(By.ID, "create-group").click()
        wait_for(lambda: "Access group created." in text(driver), "the group")
        fill(driver, "model_alias", "fast-chat")
        driver.find_element(
            By.CSS_SELECTOR, 'input[name="access_groups"][value="gpt-models"]'
        ).click()
        Select(driver.find_element(By.ID, "provider-1")).select_by_visible_text("mock")
        fill(driver, "model-1", "mock-fast")
        fill(driver, "in-1", "2.5")
        fill(driver, "out-1", "10")
        driver.find_element(By.ID, "create-alias").click()
        wait_for(lambda: "Model alias created." in text(driver), "the alias")
        aliases = driver.find_element(By.ID, "aliases").text
        assert "fast-chat" in aliases and "mock/mock-fast: $2.5000 / $10.0000" in aliases

        # -- a team, its key shown once and copied
        driver.find_element(By.LINK_TEXT, "Teams").click()
        Select(driver.find_element(By.ID, "t-org")).select_by_value("org_acme")
        fill(driver, "team_id", "acme-corp")
        fill(driver, "team_alias", "Acme <Corp>")
        fill(driver, "credits_allocated", "10")
        driver.find_element(
            By.CSS_SELECTOR, 'input[name="access_groups"][value="gpt-models"]'
        ).click()
        driver.find_element(By.ID, "create-team").click()
        shown = wait_for(lambda: driver.find_elements(By.ID, "virtual-key"), "the new key")[0].text
        assert shown.startswith("sk-")
        driver.find_element(By.ID, "copy-key").click()
        wait_for(lambda: driver.find_element(By.ID, "copy-status").text == "Copied.", "the copy")
        copied = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "navigator.clipboard.readText().then(done, e => done('error: ' + e));"
        )
        assert copied == shown
        shot(driver, "key")
        key = copied

        # -- the team uses its key through the SDK
        job_id = run_sync(run_job(url, key))

        # -- the operator finds the job, its calls and cost
        driver.find_element(By.ID, "to-team").click()
        wait_for(lambda: "acme-corp" in driver.title, "the team page")
        assert driver.find_element(By.ID, "team-heading").text.startswith("Acme <Corp>")
        assert driver.find_element(By.ID, "credits-remaining").text == "9"
        assert key not in driver.page_source
        driver.find_element(By.PARTIAL_LINK_TEXT, job_id[:8]).click()
        wait_for(lambda: job_id in text(driver), "the job page")
        rows = driver.find_elements(By.CSS_SELECTOR, "#calls tbody tr")
        assert len(rows) == 2
        for n, row in enumerate(rows, start=1):
            cells = [c.text for c in row.find_elements(By.TAG_NAME, "td")]
            assert cells[0] == str(n) and cells[1] == "fast-chat" and cells[2] == "mock-fast"
            assert cells[8] == "success" and cells[5].startswith("$")
            assert cells[6].startswith("$")  # the provider's cost: the operator sees it
        cost = driver.find_element(By.ID, "job-cost").text
        assert re.fullmatch(r"\$0\.\d{4}", cost) and cost != "$0.0000"
        shot(driver, "job")

        # -- more credits
        driver.find_element(By.LINK_TEXT, "acme-corp").click()
        fill(driver, "credits", "5")
        fill(driver, "reason", "December top-up")
        driver.find_element(By.ID, "add-credits").click()
        wait_for(lambda: "Credits added." in text(driver), "the credits")
        assert driver.find_element(By.ID, "credits-remaining").text == "14"
        assert "document_analysis" in driver.find_element(By.ID, "jobs").text
        shot(driver, "team")

        # -- suspended: the API answers 403
        driver.find_element(By.ID, "suspend-team").click()
        accept_confirm(driver)
        wait_for(lambda: "Team suspended" in text(driver), "the suspension")
        assert "suspended" in driver.find_element(By.ID, "team-status").text
        with pytest.raises(PermissionDeniedError) as refused:
            run_sync(try_new_job(url, key))
        assert refused.value.status_code == 403

        # -- the other pages, at 1280 px and at phone width
        driver.find_element(By.LINK_TEXT, "Overview").click()
        figures = driver.find_element(By.ID, "figures").text
        assert "Calls today\n2" in figures and "Credits allocated\n15" in figures
        assert driver.find_elements(By.CSS_SELECTOR, "svg.chart title")
        assert sideways(driver) == []  # at 1280 px every table fits (issue 26, item 13)
        shot(driver, "overview")
        for path, name in [
            ("/admin/teams/acme-corp", "team"),
            ("/admin/teams", "teams"),
            ("/admin/organizations", "organizations"),
            ("/admin/models", "models"),
            ("/admin/audit", "audit"),
        ]:
            driver.get(url + path)
            assert overflow(driver) == [], path
            assert sideways(driver) == [], path
            shot(driver, name)
        assert "dashboard:" in driver.find_element(By.ID, "audit").text
        driver.set_window_size(390, 844)
        for path in [
            "/admin",
            "/admin/teams",
            "/admin/teams/acme-corp",
            f"/admin/teams/acme-corp/jobs/{job_id}",
        ]:
            driver.get(url + path)
            assert overflow(driver) == [], f"{path} is wider than a phone"
        shot(driver, "phone")
        driver.set_window_size(1280, 900)

        # -- sign out: the pages are closed again
        driver.get(f"{url}/admin")
        driver.find_element(By.ID, "sign-out").click()
        wait_for(lambda: driver.current_url == f"{url}/admin/login", "the sign-in page")
        driver.get(f"{url}/admin/teams/acme-corp")
        assert driver.current_url == f"{url}/admin/login"
        assert "acme" not in driver.page_source.lower()


def test_the_key_page_copy_button_works_with_the_keyboard(
    browser: webdriver.Chrome, settings: Settings
) -> None:
    """Local-dev mode (open): tab to the copy button and press Enter."""
    driver = browser
    with served(driver, create_app(settings)) as url:
        driver.get(f"{url}/admin/organizations")
        fill(driver, "organization_id", "o1").send_keys(Keys.ENTER)
        wait_for(lambda: "Organization created." in text(driver), "the organization")
        driver.get(f"{url}/admin/teams")
        fill(driver, "team_id", "t1").send_keys(Keys.ENTER)
        shown = wait_for(lambda: driver.find_elements(By.ID, "virtual-key"), "the key")[0].text
        driver.find_element(By.ID, "virtual-key").click()
        active = driver.switch_to.active_element
        active.send_keys(Keys.TAB)
        focused = driver.switch_to.active_element
        assert focused.get_attribute("id") == "copy-key"
        focused.send_keys(Keys.ENTER)
        wait_for(lambda: driver.find_element(By.ID, "copy-status").text == "Copied.", "the copy")
        copied = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "navigator.clipboard.readText().then(done, e => done('error: ' + e));"
        )
        assert copied == shown
