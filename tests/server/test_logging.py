"""Server log lines (_logging.py, _access_log.py): the request id on every access line, JSON
lines that parse, nothing of the upstream's address."""

from __future__ import annotations

import io
import json
import logging

import httpx
import pytest

from saas_litellm_server._logging import JsonFormatter, configure_logging, flush_logs


def access_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "saas_litellm_server.access"]


async def test_each_request_has_an_access_line_with_its_request_id(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="saas_litellm_server.access")
    ok = await http.get("/health")
    mine = await http.get("/nope", headers={"X-Request-ID": "my-trace-42"})
    first, second = access_lines(caplog)
    assert first.request_id == ok.headers["x-request-id"]
    assert (first.method, first.path, first.status) == ("GET", "/health", 200)
    assert f"request_id={ok.headers['x-request-id']}" in first.getMessage()
    assert '"GET /health HTTP/1.1" 200' in first.getMessage()
    assert (second.request_id, second.status) == ("my-trace-42", mine.status_code)


async def test_a_refused_body_is_logged_too(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """The 413 comes from middleware, before any route: the access line still has its id."""
    caplog.set_level(logging.INFO, logger="saas_litellm_server.access")
    r = await http.post("/api/jobs/create", content=b"x" * (5 * 1024 * 1024))
    assert r.status_code == 413
    (line,) = access_lines(caplog)
    assert (line.status, line.request_id) == (413, r.headers["x-request-id"])


def test_json_lines_carry_the_context_fields() -> None:
    record = logging.LogRecord(
        "saas_litellm_server.upstream", logging.WARNING, "", 0, "m %s", ("x",), None
    )
    record.request_id, record.team, record.status = "req_1", "acme", 502
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "m x" and entry["level"] == "warning"
    assert (entry["request_id"], entry["team"], entry["status"]) == ("req_1", "acme", 502)
    assert "deployment" not in entry  # absent fields are left out, not null
    assert entry["logger"] == "saas_litellm_server.upstream" and entry["time"].endswith("+00:00")


def test_configure_logging_sends_every_logger_to_one_handler(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    try:
        configure_logging(level="INFO", json_lines=True)
        logging.getLogger("uvicorn.error").info("Started server process")
        logging.getLogger("saas_litellm_server").warning("careful")
        try:
            raise ValueError("bad")
        except ValueError:
            logging.getLogger("saas_litellm_server").exception("failed")
        flush_logs()  # written by a thread of their own: all of them, once it stops
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(x["logger"], x["message"]) for x in lines] == [
        ("uvicorn.error", "Started server process"),
        ("saas_litellm_server", "careful"),
        ("saas_litellm_server", "failed"),
    ]
    assert "ValueError: bad" in lines[2]["exception"]
