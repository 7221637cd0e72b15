"""The ``openai`` provider against a real OpenAI-compatible upstream process."""

from __future__ import annotations

import httpx
import pytest
from conftest import UPSTREAM_KEY

from saas_litellm_server._redact import Redactor
from saas_litellm_server.providers import ProviderError, ProviderRequest, input_bound
from saas_litellm_server.providers.openai import OpenAIProvider


def request(model: str, content: str = "hello there", **params: object) -> ProviderRequest:
    return ProviderRequest(
        model=model,
        messages=[{"role": "user", "content": content}],
        params=dict(params),
        timeout=2.0,
    )


@pytest.fixture
async def provider(upstream: str):  # type: ignore[no-untyped-def]
    p = OpenAIProvider(base_url=upstream, api_key=UPSTREAM_KEY)
    yield p
    await p.aclose()


async def test_complete_forwards_params_and_reports_usage(
    provider: OpenAIProvider, upstream: str
) -> None:
    result = await provider.complete(request("echo", temperature=0.3, max_tokens=50))
    assert result.message.content == "stub answer: hello there"
    assert result.usage.total_tokens == result.usage.prompt_tokens + result.usage.completion_tokens
    sent = httpx.get(f"{upstream}/_stub/requests").json()[-1]
    assert sent["body"]["temperature"] == 0.3 and sent["body"]["max_tokens"] == 50
    assert sent["authorization"] == f"Bearer {UPSTREAM_KEY}"


async def test_stream_asks_for_usage_and_yields_deltas(
    provider: OpenAIProvider, upstream: str
) -> None:
    deltas = [d async for d in provider.stream(request("echo", content="one two three"))]
    assert "".join(d.content for d in deltas) == "stub answer: one two three"
    assert deltas[-1].usage is not None and deltas[-1].finish_reason == "stop"
    sent = httpx.get(f"{upstream}/_stub/requests").json()[-1]
    assert sent["body"]["stream"] is True
    assert sent["body"]["stream_options"] == {"include_usage": True}


async def test_stream_without_usage_is_estimated(provider: OpenAIProvider) -> None:
    deltas = [d async for d in provider.stream(request("nousage", content="a b c d e f g h"))]
    usage = deltas[-1].usage
    assert usage is not None and usage.prompt_tokens > 0 and usage.completion_tokens > 0


@pytest.mark.parametrize(
    ("model", "kind"),
    [
        ("error-500", "server"),
        ("error-503", "server"),
        ("error-429", "rate_limited"),
        ("error-400", "bad_request"),
        ("hang", "timeout"),
        ("garbage", "server"),
        ("bad-usage", "server"),
    ],
)
async def test_failures_are_classified_and_scrubbed(
    provider: OpenAIProvider, model: str, kind: str
) -> None:
    for call in ("complete", "stream"):
        with pytest.raises(ProviderError) as info:
            if call == "complete":
                await provider.complete(request(model))
            else:
                [d async for d in provider.stream(request(model))]
        assert info.value.kind == kind
        assert "10.0.0.1" not in info.value.message and "sk-upstream" not in info.value.message


async def test_unreachable_upstream_is_a_connection_error() -> None:
    with socket_closed_port() as port:
        p = OpenAIProvider(base_url=f"http://127.0.0.1:{port}", api_key=None)
        with pytest.raises(ProviderError) as info:
            await p.complete(request("echo"))
        await p.aclose()
    assert info.value.kind == "connection"
    assert "127.0.0.1" not in info.value.message


async def test_a_cut_stream_is_a_provider_error(provider: OpenAIProvider) -> None:
    seen = []
    with pytest.raises(ProviderError):
        async for delta in provider.stream(request("cut")):
            seen.append(delta.content)
    assert len(seen) == 2


def socket_closed_port():  # type: ignore[no-untyped-def]
    import contextlib
    import socket

    @contextlib.contextmanager
    def cm():  # type: ignore[no-untyped-def]
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        yield port

    return cm()


async def test_tool_calls_are_assembled_from_stream_fragments(provider: OpenAIProvider) -> None:
    plain = await provider.complete(request("tools"))
    deltas = [d async for d in provider.stream(request("tools"))]
    assert deltas[-1].finish_reason == "tool_calls"
    assert deltas[-1].tool_calls == plain.message.tool_calls
    call = (deltas[-1].tool_calls or [])[0]
    assert (call.id, call.function.name, call.function.arguments) == (
        "call_1",
        "get_weather",
        '{"city": "Paris"}',
    )


@pytest.mark.parametrize("status", [400, 401, 403, 422, 429, 500])
async def test_upstream_words_reach_teams_without_secrets_or_addresses(
    upstream: str, status: int
) -> None:
    """Issue 12 item 5: a key not shaped like ``sk-…`` is redacted by value, and addresses and
    host names never reach the team's message; the operator's detail keeps addresses only."""
    secret = "upstream-key-7f3a9c"
    redactor = Redactor(secrets=["admin-secret-4242"])
    p = OpenAIProvider(base_url=upstream, api_key=secret, redactor=redactor)
    try:
        for call in ("complete", "stream"):
            with pytest.raises(ProviderError) as info:
                if call == "complete":
                    await p.complete(request(f"error-{status}"))
                else:
                    [d async for d in p.stream(request(f"error-{status}"))]
            message, detail = info.value.message, info.value.detail
            for leak in (
                secret,
                "sk-upstreamsecret123",
                "10.1.2.3",
                "upstream.internal",
                "10.0.0.1",
                "127.0.0.1",
            ):
                assert leak not in message, (leak, message)
            assert secret not in detail and "sk-upstreamsecret123" not in detail
            assert "upstream.internal:4000" in detail  # the operator still sees where
            if status in (400, 422):  # the team learns what the upstream disliked
                assert "Incorrect API key provided" in message
            else:
                assert "Incorrect API key" not in message
    finally:
        await p.aclose()


@pytest.mark.parametrize("call", ["complete", "stream"])
async def test_proxy_environment_is_honoured_once_read(
    upstream: str, monkeypatch: pytest.MonkeyPatch, call: str
) -> None:
    """HTTP_PROXY routes every upstream request through the proxy (here a TCP relay to the stub,
    which serves the absolute-form request line), so the upstream's own name need not resolve;
    NO_PROXY sends a host's requests direct."""
    from tcp_proxy import TcpProxy

    host, port = upstream.removeprefix("http://").split(":")
    with TcpProxy(host, int(port)) as relay:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{relay.port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)

        async def answer(p: OpenAIProvider) -> str:
            if call == "complete":
                return (await p.complete(request("echo"))).message.content or ""
            return "".join([d.content async for d in p.stream(request("echo"))])

        proxied = OpenAIProvider(base_url="http://upstream.invalid:4000", api_key=None)
        try:
            assert await answer(proxied) == "stub answer: hello there"
        finally:
            await proxied.aclose()

        monkeypatch.setenv("NO_PROXY", "upstream.invalid")
        bypassed = OpenAIProvider(base_url="http://upstream.invalid:4000", api_key=None)
        try:
            with pytest.raises(ProviderError) as info:
                await answer(bypassed)  # direct: the name does not resolve
            assert info.value.kind == "connection"
        finally:
            await bypassed.aclose()


async def test_calls_and_streams_reuse_their_upstream_connections(
    provider: OpenAIProvider, upstream: str
) -> None:
    """A stream read to its ``[DONE]`` gives its connection back to the pool, also when the
    upstream ends its body a little later: the next stream starts without a new TCP connection.
    Non-streamed calls to a plain-HTTP upstream keep theirs too (the lean client's pool)."""
    for _ in range(3):
        await provider.complete(request("echo"))
    for model in ("echo", "late-end", "echo"):
        deltas = [d async for d in provider.stream(request(model))]
        assert deltas[-1].finish_reason == "stop"
    await provider.complete(request("echo"))
    seen = httpx.get(f"{upstream}/_stub/requests").json()
    calls = {r["peer"] for r in seen if not r["body"].get("stream")}
    streams = {r["peer"] for r in seen if r["body"].get("stream")}
    assert len(calls) == 1 and len(streams) == 1, seen


def embed_request(model: str, texts: list[str], **params: object) -> ProviderRequest:
    return ProviderRequest(model=model, messages=[], params=dict(params), input=texts, timeout=2.0)


async def test_embed_posts_to_embeddings_and_orders_the_vectors(
    provider: OpenAIProvider, upstream: str
) -> None:
    result = await provider.embed(embed_request("echo", ["abc", "de"], dimensions=3, user="u1"))
    assert result.vectors == [[3.0, 0.0, 0.5], [2.0, 1.0, 0.5]]
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (2, 0)
    assert result.usage.total_tokens == 2 and result.model == "stub-echo"
    sent = httpx.get(f"{upstream}/_stub/requests").json()[-1]
    assert sent["path"] == "/embeddings"
    assert sent["body"] == {"model": "echo", "input": ["abc", "de"], "dimensions": 3, "user": "u1"}
    assert sent["authorization"] == f"Bearer {UPSTREAM_KEY}"
    shuffled = await provider.embed(embed_request("shuffled", ["abc", "de"]))
    assert [v[0] for v in shuffled.vectors] == [3.0, 2.0]


async def test_embed_without_usage_is_bounded_from_the_input(provider: OpenAIProvider) -> None:
    result = await provider.embed(embed_request("nousage", ["héllo", "x"]))
    assert result.usage.prompt_tokens == input_bound(["héllo", "x"]) == 6 + 2 + 1 + 2


@pytest.mark.parametrize(
    ("model", "kind"),
    [
        ("error-500", "server"),
        ("error-429", "rate_limited"),
        ("error-400", "bad_request"),
        ("error-401", "server"),
        ("garbage", "server"),
        ("short", "server"),
    ],
)
async def test_embed_failures_are_classified_and_scrubbed(
    provider: OpenAIProvider, model: str, kind: str
) -> None:
    with pytest.raises(ProviderError) as info:
        await provider.embed(embed_request(model, ["a", "b"]))
    assert info.value.kind == kind
    for secret in ("10.0.0.1", "sk-upstream", UPSTREAM_KEY, "10.1.2.3", "upstream.internal"):
        assert secret not in info.value.message
