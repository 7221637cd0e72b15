"""Operators in a real browser (headless Chromium): the owner (signed in with the admin key)
creates a viewer operator and copies its key from the page that shows it once; the viewer
signs in in another browser and sees no form it cannot use (nor the operators' page); the
owner removes it, and the viewer's next page is the sign-in page.

Needs Debian's ``chromium`` and ``chromium-driver`` (skips without them, unless
``SAAS_LITELLM_REQUIRE_BROWSER=1``). With ``SAAS_LITELLM_SCREENSHOTS=docs`` it saves
``docs/dashboard-operators.png``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browser import accept_confirm, fill, overflow, served, shot, sideways, text, wait_for
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select
from support import headless_chromium, run_sync

from saas_litellm_client import SaasLiteLLMAdminClient
from saas_litellm_server import Settings, create_app

ADMIN_KEY = "adm-operators-browser-secret"


@pytest.fixture(scope="module")
def owner_browser() -> Iterator[webdriver.Chrome]:
    yield from headless_chromium("--window-size=1280,900", "--hide-scrollbars")


@pytest.fixture(scope="module")
def viewer_browser() -> Iterator[webdriver.Chrome]:
    yield from headless_chromium("--window-size=1280,900", "--hide-scrollbars")


def _sign_in(driver: webdriver.Chrome, url: str, key: str) -> None:
    driver.get(f"{url}/admin/login")
    fill(driver, "admin_key", key)
    driver.find_element(By.ID, "sign-in").click()
    wait_for(lambda: driver.current_url == f"{url}/admin", lambda: text(driver))


async def _seed(url: str) -> None:
    async with SaasLiteLLMAdminClient(base_url=url, admin_key=ADMIN_KEY) as admin:
        await admin.create_organization("org_acme", "Acme Inc.")
        await admin.create_model_access_group("gpt-models")
        await admin.create_team("org_acme", "acme-corp", access_groups=["gpt-models"])


@pytest.mark.parametrize("admin_key", [ADMIN_KEY])
def test_an_owner_creates_a_viewer_who_sees_only_what_it_may_use(
    owner_browser: webdriver.Chrome, viewer_browser: webdriver.Chrome, settings: Settings
) -> None:
    owner, viewer = owner_browser, viewer_browser
    with served(owner, create_app(settings)) as url:
        viewer.set_window_size(1280, 900)
        run_sync(_seed(url))
        _sign_in(owner, url, ADMIN_KEY)

        # -- the owner creates a viewer; its key is shown once
        owner.find_element(By.LINK_TEXT, "Operators").click()
        wait_for(lambda: "No operators yet" in text(owner), "the empty operators page")
        fill(owner, "operator-name", "Vera Viewer")
        Select(owner.find_element(By.ID, "operator-role")).select_by_visible_text("viewer")
        owner.find_element(By.ID, "create-operator").click()
        wait_for(lambda: "This key is shown once" in text(owner), "the new key")
        key = owner.find_element(By.ID, "virtual-key").text
        assert key.startswith("sk-op-") and key not in owner.current_url
        assert owner.find_element(By.ID, "operator-role-shown").text == "viewer"
        owner.find_element(By.ID, "to-operators").click()
        rows = owner.find_element(By.ID, "operators").text
        assert "Vera Viewer" in rows and key not in owner.page_source
        assert overflow(owner) == [] and sideways(owner) == []
        shot(owner, "operators")

        # -- the viewer signs in elsewhere and sees no form it cannot use
        _sign_in(viewer, url, key)
        nav = viewer.find_element(By.CSS_SELECTOR, "nav").text
        assert "Teams" in nav and "Operators" not in nav
        viewer.get(f"{url}/admin/teams/acme-corp")
        wait_for(lambda: "Credits remaining" in text(viewer), "the team page")
        actions = [
            f.get_attribute("action")
            for f in viewer.find_elements(By.CSS_SELECTOR, 'form[method="post"]')
        ]
        assert actions == [f"{url}/admin/logout"], actions
        for missing in ("add-credits", "suspend-team", "remove-team", "create-key"):
            assert viewer.find_elements(By.ID, missing) == [], missing
        viewer.get(f"{url}/admin/teams")
        assert viewer.find_elements(By.ID, "create-team") == []
        viewer.get(f"{url}/admin/operators")
        assert "needs the 'owner' role" in text(viewer)

        # -- the owner removes it: the viewer's next page is the sign-in page
        owner.find_element(By.XPATH, '//button[contains(., "Remove")]').click()
        accept_confirm(owner)
        wait_for(lambda: "Operator removed" in text(owner), "the removal")
        viewer.get(f"{url}/admin/teams")
        wait_for(lambda: viewer.current_url == f"{url}/admin/login", "the sign-in page")
        assert "Vera Viewer" not in owner.find_element(By.ID, "operators").text
