"""The integration guide's snippets, word for word, against a zero-config server over HTTP.

Only the address (``localhost:8003``) and the placeholder key are substituted.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import subprocess
import textwrap
from typing import Any

import pytest
import requests

QUICK_START_SETUP = """
# Create organization
curl -X POST http://localhost:8003/api/organizations/create \\
-H "Content-Type: application/json" \\
-d '{
"organization_id": "org_acme",
"name": "ACME Corporation"
}'
# Create model access group
curl -X POST http://localhost:8003/api/model-access-groups/create \\
-H "Content-Type: application/json" \\
-d '{
"group_name": "gpt-models",
"description": "GPT models"
}'
# Create team
curl -X POST http://localhost:8003/api/teams/create \\
-H "Content-Type: application/json" \\
-d '{
"organization_id": "org_acme",
"team_id": "acme-corp",
"team_alias": "ACME Corp Team",
"access_groups": ["gpt-models"],
"credits_allocated": 1000
}'
"""

QUICK_START_FIRST_CALL = """
import requests
API = "http://localhost:8003/api"
VIRTUAL_KEY = "sk-your-virtual-key-here"
headers = {
"Authorization": f"Bearer {VIRTUAL_KEY}",
"Content-Type": "application/json"
}
# Create job
job = requests.post(f"{API}/jobs/create", headers=headers, json={
"team_id": "acme-corp",
"job_type": "test",
"metadata": {"test": True}
}).json()
print(f"Created job: {job['job_id']}")
# Make LLM call
response = requests.post(
f"{API}/jobs/{job['job_id']}/llm-call",
headers=headers,
json={
"messages": [
{"role": "user", "content": "Say hello!"}
]
}
).json()
print(f"Response: {response['response']['content']}")
# Complete job
result = requests.post(
f"{API}/jobs/{job['job_id']}/complete",
headers=headers,
json={"status": "completed"}
).json()
print(f"Credits remaining: {result['costs']['credits_remaining']}")
"""

PATTERN_A = """
import requests
API = "http://localhost:8003/api"
headers = {"Authorization": "Bearer sk-your-virtual-key"}
# 1. Create job
job = requests.post(f"{API}/jobs/create", headers=headers, json={
"team_id": "acme-corp",
"job_type": "document_analysis"
}).json()
# 2. Make LLM calls
response = requests.post(f"{API}/jobs/{job['job_id']}/llm-call",
headers=headers,
json={
"messages": [{"role": "user", "content": "Analyze this..."}]
}
).json()
# 3. Complete job
result = requests.post(f"{API}/jobs/{job['job_id']}/complete",
headers=headers,
json={"status": "completed"}
).json()
print(f"Credits remaining: {result['costs']['credits_remaining']}")
"""


def localize(snippet: str, base_url: str, key: str | None = None) -> str:
    text = snippet.replace("http://localhost:8003", base_url)
    if key is not None:
        text = re.sub(r"sk-your-virtual-key(-here)?", key, text)
    return textwrap.dedent(text)


def run_python(snippet: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(snippet, "<guide>", "exec"), {})
    return out.getvalue()


def setup_with_curl(base_url: str) -> str:
    if shutil.which("curl") is None:
        pytest.fail("curl is needed to run the guide's Quick Start commands", pytrace=False)
    done = subprocess.run(
        ["bash", "-c", localize(QUICK_START_SETUP, base_url)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    team = re.findall(r'\{"team_id":"acme-corp".*\}', done.stdout)
    assert team, done.stdout
    key = re.search(r'"virtual_key":"(sk-[^"]+)"', done.stdout)
    assert key is not None
    return key.group(1)


def balance(base_url: str, key: str) -> dict[str, Any]:
    r = requests.get(
        f"{base_url}/api/credits/balance", headers={"Authorization": f"Bearer {key}"}, timeout=10
    )
    return dict(r.json())


def test_quick_start_and_pattern_a_as_written(live_url: str) -> None:
    key = setup_with_curl(live_url)
    assert balance(live_url, key)["credits_remaining"] == 1000

    out = run_python(localize(QUICK_START_FIRST_CALL, live_url, key))
    assert re.search(r"Created job: [0-9a-f-]{36}", out)
    assert 'Response: You said: "Say hello!"' in out
    assert out.rstrip().endswith("Credits remaining: 999")

    out = run_python(localize(PATTERN_A, live_url, key))
    assert out.strip() == "Credits remaining: 998"
    b = balance(live_url, key)
    assert (b["credits_used"], b["credits_reserved"], b["credits_remaining"]) == (2, 0, 998)


def test_three_calls_in_one_job_cost_one_credit_and_a_failed_job_none(live_url: str) -> None:
    key = setup_with_curl(live_url)
    headers = {"Authorization": f"Bearer {key}"}
    api = f"{live_url}/api"
    job = requests.post(
        f"{api}/jobs/create",
        headers=headers,
        timeout=10,
        json={"team_id": "acme-corp", "job_type": "document_analysis"},
    ).json()
    for step in ("extract text", "classify content", "generate summary"):
        r = requests.post(
            f"{api}/jobs/{job['job_id']}/llm-call",
            headers=headers,
            timeout=10,
            json={"messages": [{"role": "user", "content": step}], "purpose": step},
        )
        assert r.status_code == 200
    result = requests.post(
        f"{api}/jobs/{job['job_id']}/complete",
        headers=headers,
        timeout=10,
        json={"status": "completed"},
    ).json()
    assert result["costs"]["total_calls"] == 3
    assert result["costs"]["credits_remaining"] == 999

    failed = requests.post(
        f"{api}/jobs/create",
        headers=headers,
        timeout=10,
        json={"team_id": "acme-corp", "job_type": "doomed"},
    ).json()
    requests.post(
        f"{api}/jobs/{failed['job_id']}/llm-call",
        headers=headers,
        timeout=10,
        json={"messages": [{"role": "user", "content": "try"}]},
    )
    result = requests.post(
        f"{api}/jobs/{failed['job_id']}/complete",
        headers=headers,
        timeout=10,
        json={"status": "failed"},
    ).json()
    assert result["costs"]["credit_applied"] is False
    assert result["costs"]["credits_remaining"] == 999
    assert balance(live_url, key)["credits_remaining"] == 999


PATTERN_B = """
import requests
API = "http://localhost:8003/api"
headers = {"Authorization": "Bearer sk-your-virtual-key"}
# Create job and make streaming call
response = requests.post(
    f"{API}/jobs/{job_id}/llm-call-stream",
    headers=headers,
    json={
        "messages": [{"role": "user", "content": "Tell me a story"}]
    },
    stream=True
)
# Process Server-Sent Events
for line in response.iter_lines():
    if line.startswith(b'data: '):
        chunk = json.loads(line[6:])
        if chunk.get("content"):
            print(chunk["content"], end="", flush=True)
"""

STREAMING_VS_BUFFERED = """
# Get complete response at once
response = requests.post(
    f"{API}/jobs/{job_id}/llm-call",
    headers=headers,
    json={"messages": messages}
).json()
content = response["response"]["content"]
print(content)
# Get response progressively
response = requests.post(
    f"{API}/jobs/{job_id}/llm-call-stream",
    headers=headers,
    json={"messages": messages},
    stream=True
)
for line in response.iter_lines():
    if line.startswith(b'data: '):
        chunk = json.loads(line[6:])
        print(chunk.get("content", ""), end="")
"""


def test_pattern_b_naive_sse_reader_as_written(live_url: str) -> None:
    """The guide's reader calls json.loads on every data: line and prints each content."""
    import json

    key = setup_with_curl(live_url)
    headers = {"Authorization": f"Bearer {key}"}
    job = requests.post(
        f"{live_url}/api/jobs/create",
        headers=headers,
        timeout=10,
        json={"team_id": "acme-corp", "job_type": "chat"},
    ).json()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(
            compile(localize(PATTERN_B, live_url, key), "<guide>", "exec"),
            {"json": json, "job_id": job["job_id"]},
        )
    assert (
        out.getvalue()
        == 'You said: "Tell me a story". I am the built-in mock model, answering offline.'
    )

    messages = [{"role": "user", "content": "Say hello!"}]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(
            compile(STREAMING_VS_BUFFERED, "<guide>", "exec"),
            {
                "json": json,
                "requests": requests,
                "job_id": job["job_id"],
                "headers": headers,
                "API": f"{live_url}/api",
                "messages": messages,
            },
        )
    buffered, streamed = out.getvalue().split("\n", 1)
    assert buffered == streamed  # same answer both ways
    detail = requests.get(
        f"{live_url}/api/jobs/{job['job_id']}", headers=headers, timeout=10
    ).json()
    assert [c["streamed"] for c in detail["calls"]] == [True, False, True]
    assert detail["calls"][1]["total_tokens"] == detail["calls"][2]["total_tokens"]


GETTING_YOUR_VIRTUAL_KEY = """
curl -X POST http://localhost:8003/api/teams/create \\
-H "Content-Type: application/json" \\
-d '{
"organization_id": "org_acme",
"team_id": "acme-corp",
"team_alias": "ACME Corp",
"access_groups": ["gpt-models"],
"credits_allocated": 1000
}'
"""


def test_getting_your_virtual_key_works_on_its_own(live_url: str) -> None:
    """On a fresh local-dev server, the guide's first team example is enough by itself."""
    done = subprocess.run(
        ["bash", "-c", localize(GETTING_YOUR_VIRTUAL_KEY, live_url)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    team = json.loads(done.stdout)
    assert team["team_id"] == "acme-corp" and team["virtual_key"].startswith("sk-")
    assert (team["credits_allocated"], team["credits_remaining"]) == (1000, 1000)
    assert balance(live_url, team["virtual_key"])["credits_remaining"] == 1000
