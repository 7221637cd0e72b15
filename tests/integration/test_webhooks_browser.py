"""Webhooks from the dashboard in a real browser (headless Chromium), against a real receiver
process (tests/webhook_receiver.py, which verifies every signature with ``standardwebhooks``):
register the receiver's URL from the form, copy the signing secret shown once, send a test
event from the webhook's page and watch its delivery turn ``succeeded`` once the receiver has
it; the secret verifies it, and the SDK's ``verify_webhook`` types it as a ``WebhookTestEvent``.
The pages fit a 1280 px window. Screenshots ``webhooks`` and ``webhook`` for docs/dashboard.md
(``SAAS_LITELLM_SCREENSHOTS=docs``).

Needs Debian's ``chromium`` and ``chromium-driver`` (skips without them unless
``SAAS_LITELLM_REQUIRE_BROWSER=1``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import fill, overflow, served, shot, sideways, text, wait_for
from receiver_process import Receiver
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select
from support import headless_chromium

from saas_litellm_client import WebhookTestEvent, verify_webhook
from saas_litellm_server import Settings, create_app


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    yield from headless_chromium("--window-size=1280,900", "--hide-scrollbars")


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


def _rows(driver: webdriver.Chrome, table_id: str) -> list[list[str]]:
    rows = driver.find_elements(By.CSS_SELECTOR, f"#{table_id} tbody tr")
    return [[td.text for td in row.find_elements(By.TAG_NAME, "td")] for row in rows]


def test_register_copy_the_secret_and_send_a_test_event(
    browser: webdriver.Chrome, database_url: str, receiver: Receiver
) -> None:
    driver = browser
    settings = Settings(  # type: ignore[call-arg]
        database_url=database_url,
        webhooks_allow_private=True,  # the receiver listens on loopback
        webhooks_poll_seconds=0.2,
        _env_file=None,
    )
    with served(driver, create_app(settings)) as url:
        # -- register the receiver: the form offers every event type
        driver.get(f"{url}/admin/webhooks")
        assert _rows(driver, "webhooks") == [["No webhooks yet."]]
        boxes = driver.find_elements(By.CSS_SELECTOR, 'input[name="events"]')
        assert [b.get_attribute("value") for b in boxes] == [
            "job.completed",
            "job.failed",
            "credits.low",
            "credits.exhausted",
            "credits.refilled",
            "team.suspended",
        ]
        fill(driver, "w-url", receiver.url)
        Select(driver.find_element(By.ID, "w-org")).select_by_value("")
        driver.find_element(By.ID, "w-event-job-completed").click()
        driver.find_element(By.ID, "w-event-credits-exhausted").click()
        driver.find_element(By.ID, "create-webhook").click()

        # -- the secret, shown once, copied with the button
        shown = wait_for(lambda: driver.find_elements(By.ID, "webhook-secret"), "the secret")
        secret = shown[0].text
        assert secret.startswith("whsec_")
        assert "shown once" in text(driver)
        driver.find_element(By.ID, "copy-secret").click()
        wait_for(lambda: driver.find_element(By.ID, "copy-status").text == "Copied.", "the copy")
        copied = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "navigator.clipboard.readText().then(done, e => done('error: ' + e));"
        )
        assert copied == secret
        receiver.trust(copied)  # the receiver verifies with what the operator copied
        assert overflow(driver) == []

        # -- the list shows it, without the secret
        driver.get(f"{url}/admin/webhooks")
        ((listed_url, events, organization, status, failing, created),) = _rows(driver, "webhooks")
        assert (listed_url, events, organization, status, failing) == (
            receiver.url,
            "job.completed, credits.exhausted",
            "all",
            "active",
            "",
        )
        assert created.endswith("UTC")
        assert secret not in driver.page_source
        assert overflow(driver) == [] and sideways(driver) == []
        shot(driver, "webhooks")

        # -- its page: send a test event, which it does not subscribe to
        driver.find_element(By.LINK_TEXT, receiver.url).click()
        wait_for(lambda: driver.find_elements(By.ID, "send-test"), "the webhook's page")
        webhook_id = driver.find_element(By.CSS_SELECTOR, "h1 code").text
        assert webhook_id.startswith("wh_")
        assert secret not in driver.page_source
        assert _rows(driver, "deliveries") == [["No deliveries yet."]]
        driver.find_element(By.ID, "send-test").click()
        wait_for(lambda: "Test event queued" in text(driver), "the test event's notice")
        ((_, event, delivery_id, *_),) = _rows(driver, "deliveries")
        assert event == "webhook.test" and delivery_id.startswith("msg_")

        # -- the receiver gets it, signed with the copied secret; the page then says delivered
        got = wait_for(receiver.accepted, "the receiver to get the test event")
        assert [(r["id"], r["type"], r["valid"]) for r in got] == [
            (delivery_id, "webhook.test", True)
        ]
        typed = verify_webhook(got[0]["body"].encode(), got[0]["headers"], copied)
        assert isinstance(typed, WebhookTestEvent) and typed.data.webhook_id == webhook_id

        def delivered() -> list[str] | None:
            driver.refresh()
            ((_c, _e, _i, status, attempts, last, response, next_try, _b),) = _rows(
                driver, "deliveries"
            )
            done = status == "succeeded"
            return [status, attempts, response, next_try, last] if done else None

        status, attempts, response, next_try, last = wait_for(
            delivered, "the page to say delivered"
        )
        assert (status, attempts, response, next_try) == ("succeeded", "1", "HTTP 200", "")
        assert last.endswith("UTC")
        assert secret not in driver.page_source
        assert overflow(driver) == [] and sideways(driver) == []
        shot(driver, "webhook")
