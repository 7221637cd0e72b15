"""The server in front of a real LiteLLM proxy (the guide's architecture), which forwards to the
OpenAI-compatible stub process.

LiteLLM (``litellm[proxy]==1.108.7``, ~750 MB) is not part of the default test environment:
``nox -s interop`` installs it into a venv of its own and runs these tests with
``SAAS_LITELLM_LITELLM_BIN`` pointing at its ``litellm`` executable.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from support import live_server

from saas_litellm_client import (
    SaasLiteLLMAdminClient,
    SaasLiteLLMClient,
    UpstreamError,
)
from saas_litellm_server import Settings, create_app

pytestmark = pytest.mark.interop

MASTER_KEY = "sk-litellm-master-test"
CONFIG = """
model_list:
  - model_name: echo
    litellm_params: {{model: openai/echo, api_base: "{upstream}", api_key: sk-fake}}
  - model_name: broken
    litellm_params: {{model: openai/error-500, api_base: "{upstream}", api_key: sk-fake}}
general_settings:
  master_key: {master}
litellm_settings:
  num_retries: 0
"""


def _litellm_binary() -> str:
    binary = os.environ.get("SAAS_LITELLM_LITELLM_BIN") or shutil.which("litellm")
    if not binary:
        pytest.skip(
            "the LiteLLM proxy is not installed here; `nox -s interop` installs it "
            "and runs these tests"
        )
    return binary


@pytest.fixture(scope="module")
def litellm_proxy(upstream_process: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = _litellm_binary()
    folder: Path = tmp_path_factory.mktemp("litellm")
    (folder / "config.yaml").write_text(CONFIG.format(upstream=upstream_process, master=MASTER_KEY))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = (folder / "proxy.log").open("w")
    proc = subprocess.Popen(
        [binary, "--config", "config.yaml", "--host", "127.0.0.1", "--port", str(port)],
        cwd=folder,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{url}/health/liveliness", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the LiteLLM proxy did not start: {(folder / 'proxy.log').read_text()[-2000:]}"
                )
            time.sleep(0.25)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
async def client(
    litellm_proxy: str, database_url: str, upstream: str
) -> AsyncIterator[SaasLiteLLMClient]:
    settings = Settings(
        database_url=database_url,
        upstream_base_url=litellm_proxy,  # type: ignore[call-arg]
        upstream_api_key=MASTER_KEY,
        _env_file=None,
    )
    with live_server(create_app(settings)) as url:
        async with SaasLiteLLMAdminClient(base_url=url) as admin:
            await admin.create_organization("org_acme", "ACME")
            await admin.create_model_access_group("gpt-models")
            await admin.create_model_alias(
                "ChatAgent",
                access_groups=["gpt-models"],
                deployments=[
                    {"provider": "openai", "model": "broken"},
                    {
                        "provider": "openai",
                        "model": "echo",
                        "input_cost_per_million": 1.0,
                        "output_cost_per_million": 2.0,
                    },
                ],
            )
            await admin.create_model_alias(
                "Broken",
                access_groups=["gpt-models"],
                deployments=[{"provider": "openai", "model": "broken"}],
            )
            team = await admin.create_team(
                "org_acme", "acme-corp", access_groups=["gpt-models"], credits_allocated=10
            )
        async with SaasLiteLLMClient(
            base_url=url, team_id="acme-corp", virtual_key=team.virtual_key
        ) as c:
            yield c


async def test_calls_and_streams_through_litellm(client: SaasLiteLLMClient, upstream: str) -> None:
    job = await client.create_job("interop")
    msg = [{"role": "user", "content": "hello through the proxy"}]
    plain = await client.llm_call(job_id=job.job_id, messages=msg, model="ChatAgent")
    assert plain.content == "stub answer: hello through the proxy"
    async with client.stream(job_id=job.job_id, messages=msg, model="ChatAgent") as stream:
        text = await stream.get_final_text()
    assert text == plain.content
    assert stream.usage == plain.usage  # LiteLLM forwards the usage it was asked to include
    detail = await client.get_job(job.job_id)
    assert [c.deployment for c in detail.calls] == ["echo", "echo"]
    forwarded = [r["body"]["model"] for r in httpx.get(f"{upstream}/_stub/requests").json()]
    assert forwarded.count("echo") == 2  # both went through the proxy to the stub
    result = await client.complete_job(job.job_id)
    assert result.credits_remaining == 9


async def test_proxy_failures_are_clean_upstream_errors(client: SaasLiteLLMClient) -> None:
    job = await client.create_job("interop")
    with pytest.raises(UpstreamError) as info:
        await client.llm_call(
            job_id=job.job_id, messages=[{"role": "user", "content": "x"}], model="Broken"
        )
    assert "'Broken'" in info.value.message
    assert "127.0.0.1" not in info.value.message and MASTER_KEY not in info.value.message
