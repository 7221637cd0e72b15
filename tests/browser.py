"""Helpers of the dashboard's browser tests (headless Chromium under Selenium): waiting for a
page, reading and filling it, what sticks out of a 1280 px window, saving the screenshots
docs/ shows (``SAAS_LITELLM_SCREENSHOTS=docs``), and the app served to the browser."""

from __future__ import annotations

import base64
import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import (
    NoAlertPresentException,
    NoSuchElementException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from starlette.types import ASGIApp
from support import live_server

SHOTS = os.environ.get("SAAS_LITELLM_SCREENSHOTS")


def wait_for(check: Callable[[], Any], what: str | Callable[[], str], seconds: float = 15) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        try:
            value = check()
        except (NoSuchElementException, StaleElementReferenceException):
            value = None  # the page is being replaced
        except WebDriverException as exc:
            # the same race, as Chromium sometimes words it: an element of the page just left
            if "does not belong to the document" not in str(exc):
                raise
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out waiting for {what if isinstance(what, str) else what()}"
            )
        time.sleep(0.05)


def text(driver: webdriver.Chrome) -> str:
    return str(driver.find_element(By.TAG_NAME, "body").text)


def fill(driver: webdriver.Chrome, field_id: str, value: str) -> WebElement:
    field = driver.find_element(By.ID, field_id)
    field.clear()
    field.send_keys(value)
    return field


def label_for(driver: webdriver.Chrome, field_id: str) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, f'label[for="{field_id}"]').text)


def shot(driver: webdriver.Chrome, name: str) -> None:
    """Save a full-page screenshot (only when SAAS_LITELLM_SCREENSHOTS names a directory)."""
    if not SHOTS:
        return
    width, height = driver.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
    )
    image = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
        },
    )
    (Path(SHOTS) / f"dashboard-{name}.png").write_bytes(base64.b64decode(image["data"]))


_OVERFLOW = """
const width = window.innerWidth;
if (document.documentElement.scrollWidth <= width + 1) { return []; }
return Array.from(document.querySelectorAll("body *"))
  .filter(e => e.getBoundingClientRect().right > width + 1 && !e.closest(".scroll"))
  .slice(0, 5).map(e => e.tagName + "." + e.className + "#" + e.id);
"""


def overflow(driver: webdriver.Chrome) -> list[str]:
    """What sticks out of the window (empty: the page fits; tables scroll in their own box)."""
    found: list[str] = driver.execute_script(_OVERFLOW)
    if not found and driver.execute_script(
        "return document.documentElement.scrollWidth > window.innerWidth + 1"
    ):
        return ["the page is wider than the window"]
    return found


def sideways(driver: webdriver.Chrome) -> list[str]:
    """The tables that scroll sideways in their box (each by its section's heading)."""
    found: list[str] = driver.execute_script(
        """return Array.from(document.querySelectorAll(".scroll"))
          .filter(e => e.scrollWidth > e.clientWidth + 1)
          .map(e => (e.closest("section") || e).querySelector("h2, h1")?.textContent || "?");"""
    )
    return found


def accept_confirm(driver: webdriver.Chrome) -> None:
    def confirm() -> bool:
        try:
            driver.switch_to.alert.accept()
        except NoAlertPresentException:
            return False
        return True

    wait_for(confirm, "the confirmation dialog")


@contextlib.contextmanager
def served(driver: webdriver.Chrome, app: ASGIApp) -> Iterator[str]:
    """The app over real HTTP, the browser at 1280 px and allowed the clipboard (the copy
    button)."""
    driver.set_window_size(1280, 900)
    with live_server(app) as url:
        driver.execute_cdp_cmd(
            "Browser.grantPermissions",
            {"origin": url, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]},
        )
        yield url
