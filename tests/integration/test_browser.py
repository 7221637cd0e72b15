"""In a real browser (headless Chromium): the full-chain page shows the answer growing as it
streams, and ``/docs`` lists the API's operations.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them). Without them these
tests skip, unless ``SAAS_LITELLM_REQUIRE_BROWSER=1`` (as in CI) turns that into a failure.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from support import headless_chromium, live_server

from saas_litellm_server import Settings, create_app

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "full_chain" / "app.py"


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    yield from headless_chromium()


def load_example_app():  # type: ignore[no-untyped-def]
    """Import the example afresh (it reads SAAS_LITELLM_BASE_URL when imported)."""
    spec = importlib.util.spec_from_file_location("full_chain_app", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["full_chain_app"] = module
    spec.loader.exec_module(module)
    return module.app


def test_full_chain_page_shows_the_answer_as_it_streams(
    browser: webdriver.Chrome, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = settings.model_copy(update={"mock_chunk_delay": 0.15})
    with live_server(create_app(slow)) as api_url:
        monkeypatch.setenv("SAAS_LITELLM_BASE_URL", api_url)
        with live_server(load_example_app()) as page_url:
            browser.get(page_url)
            browser.find_element(By.ID, "send").click()
            lengths: list[int] = []
            deadline = time.monotonic() + 30
            while "done" not in browser.find_element(By.ID, "status").text:
                assert time.monotonic() < deadline, "the answer never finished"
                lengths.append(len(browser.find_element(By.ID, "answer").text))
                time.sleep(0.05)
            answer = browser.find_element(By.ID, "answer").text
    assert answer.startswith('You said: "Tell me a story about a fox"')
    growing = sorted({n for n in lengths if 0 < n < len(answer)})
    assert len(growing) >= 3, f"the text did not appear progressively: {lengths}"
    assert "credits remaining: 99" in browser.find_element(By.ID, "status").text


def test_swagger_ui_lists_the_operations(browser: webdriver.Chrome, settings: Settings) -> None:
    with live_server(create_app(settings)) as api_url:
        browser.get(f"{api_url}/docs")
        deadline = time.monotonic() + 30
        while len(browser.find_elements(By.CSS_SELECTOR, ".opblock")) < 20:
            assert time.monotonic() < deadline, "Swagger UI did not render the operations"
            time.sleep(0.1)
        text = browser.find_element(By.TAG_NAME, "body").text
        assert "/api/jobs/{job_id}/llm-call" in text.replace("\u200b", "")
        browser.get(f"{api_url}/redoc")
        deadline = time.monotonic() + 30
        while "Create a job" not in browser.find_element(By.TAG_NAME, "body").text:
            assert time.monotonic() < deadline, "ReDoc did not render the operations"
            time.sleep(0.1)
