"""A webhook receiver, run as a real process by the tests: it verifies every delivery with the
``standardwebhooks`` package, as a user's receiver would.

``python webhook_receiver.py PORT STATE_DIR`` answers ``POST`` on any path. Its state lives in
files of ``STATE_DIR``, so that it survives the process being stopped and started again:

- ``secrets.json`` (written by the test): the ``whsec_…`` secrets a delivery may be signed with;
- ``script.json`` (written by the test, optional): ``{"fail": N, "status": 500}`` answers the
  next N deliveries with that status (counted down in the file); ``{"hang": seconds}`` holds
  every answer that long (such deliveries are recorded with ``held``);
- ``received.jsonl`` (written here): one line per delivery received — its ``webhook-id``,
  event ``type``, whether the signature verified (``valid``), the status answered, the
  body's ``data``, and the raw ``body`` with its ``webhook-*`` ``headers`` (for a test to
  verify it again, with the SDK's ``verify_webhook``).

``GET /_receiver/health`` answers 200 once it is up.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import uvicorn
from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

STATE = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(".")
_lock = asyncio.Lock()


def _read(name: str, default: Any) -> Any:
    try:
        return json.loads((STATE / name).read_text())
    except (OSError, ValueError):
        return default


def _write(name: str, value: Any) -> None:
    tmp = STATE / f".{name}.tmp"
    tmp.write_text(json.dumps(value))
    os.replace(tmp, STATE / name)


def _verify(body: bytes, headers: dict[str, str]) -> bool:
    for secret in _read("secrets.json", []):
        try:
            Webhook(secret).verify(body, headers)
        except WebhookVerificationError:
            continue
        return True
    return False


async def receive(request: Request) -> Response:
    body = await request.body()
    headers = dict(request.headers)
    valid = _verify(body, headers)
    try:
        event = json.loads(body)
    except ValueError:
        event = {}
    async with _lock:  # one request at a time decides and records its answer
        script = _read("script.json", {})
        status = 200
        if script.get("fail", 0) > 0:
            script["fail"] -= 1
            status = int(script.get("status", 500))
            _write("script.json", script)
        with (STATE / "received.jsonl").open("a") as log:
            log.write(
                json.dumps(
                    {
                        "id": headers.get("webhook-id"),
                        "type": event.get("type"),
                        "valid": valid,
                        "status": status,
                        "held": bool(script.get("hang")),
                        "path": request.url.path,
                        "data": event.get("data"),
                        "body": body.decode("utf-8", "replace"),
                        "headers": {k: v for k, v in headers.items() if k.startswith("webhook-")},
                    }
                )
                + "\n"
            )
    hang = float(script.get("hang", 0))
    if hang:
        await asyncio.sleep(hang)
    return JSONResponse({"ok": status == 200}, status_code=status)


async def health(request: Request) -> Response:
    return JSONResponse({"ok": True})


app = Starlette(
    routes=[
        Route("/_receiver/health", health, methods=["GET"]),
        Route("/{path:path}", receive, methods=["POST"]),
    ]
)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
