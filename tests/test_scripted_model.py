"""The scripted Messages API: its wire shapes over HTTP, and the real claude using it."""

from __future__ import annotations

import gzip
import json
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import claude_agent_sdk
import httpx
import pytest

from session_tree.testing import (
    RecordedRequest,
    RequestKind,
    ScriptedModel,
    ThinkingBlock,
    ToolUseBlock,
    auth_error,
    child_env,
    classify,
    cut_stream,
    message,
    overloaded,
    server_error,
    stream_error,
    text,
    thinking,
    tool_use,
    transcript,
)

HEADERS = {"x-api-key": "test-key", "anthropic-version": "2023-06-01"}


def body(prompt: str = "hello", *, stream: bool = True, **extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-test",
        "max_tokens": 100,
        "stream": stream,
        "tools": [{"name": "Bash", "input_schema": {"type": "object"}}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": prompt}]}],
        **extra,
    }


def sse(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event, data) pairs from an SSE line stream."""
    event = ""
    for line in lines:
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield event, json.loads(line.removeprefix("data: "))


def stream_events(model: ScriptedModel, payload: dict[str, Any]) -> list[tuple[str, Any]]:
    with (
        httpx.Client(base_url=model.base_url, timeout=10) as client,
        client.stream("POST", "/v1/messages", json=payload, headers=HEADERS) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        return list(sse(response.iter_lines()))


def streamed_text(events: list[tuple[str, Any]]) -> str:
    return "".join(
        data["delta"]["text"]
        for name, data in events
        if name == "content_block_delta" and data["delta"]["type"] == "text_delta"
    )


@pytest.fixture
def model() -> Iterator[ScriptedModel]:
    with ScriptedModel() as running:
        yield running


# wire shapes --------------------------------------------------------------------


def test_streamed_text_reply_follows_the_api_event_sequence(model: ScriptedModel) -> None:
    model.push(text("Hel", "lo"))
    events = stream_events(model, body())
    assert [name for name, _ in events] == [
        "message_start",
        "ping",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert streamed_text(events) == "Hello"
    start = events[0][1]["message"]
    assert start["role"] == "assistant"
    assert start["model"] == "claude-test"
    assert start["id"].startswith("msg_")
    assert events[-2][1]["delta"]["stop_reason"] == "end_turn"


def test_tool_use_reply_streams_input_json_that_reassembles(model: ScriptedModel) -> None:
    model.push(tool_use("Bash", {"command": "echo hi"}, preamble="Running it."))
    events = stream_events(model, body())
    starts = [data["content_block"] for name, data in events if name == "content_block_start"]
    assert starts[0] == {"type": "text", "text": ""}
    assert starts[1]["type"] == "tool_use"
    assert starts[1]["name"] == "Bash"
    assert starts[1]["id"].startswith("toolu_")
    fragments = [
        data["delta"]["partial_json"]
        for name, data in events
        if name == "content_block_delta" and data["delta"]["type"] == "input_json_delta"
    ]
    assert json.loads("".join(fragments)) == {"command": "echo hi"}
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"


def test_thinking_reply_streams_thinking_then_signature_then_text(model: ScriptedModel) -> None:
    model.push(thinking("let me see", "answer"))
    events = stream_events(model, body())
    deltas = [data["delta"]["type"] for name, data in events if name == "content_block_delta"]
    assert deltas == ["thinking_delta", "signature_delta", "text_delta"]


def test_non_streaming_request_gets_the_whole_message_as_json(model: ScriptedModel) -> None:
    model.push(message(ThinkingBlock("hmm"), ToolUseBlock("Read", {"path": "a"}, id="toolu_1")))
    response = httpx.post(
        f"{model.base_url}/v1/messages", json=body(stream=False), headers=HEADERS, timeout=10
    )
    assert response.status_code == 200
    reply = response.json()
    assert reply["type"] == "message"
    assert reply["stop_reason"] == "tool_use"
    assert reply["content"] == [
        {"type": "thinking", "thinking": "hmm", "signature": reply["content"][0]["signature"]},
        {"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"path": "a"}},
    ]
    assert reply["usage"]["input_tokens"] > 0


@pytest.mark.parametrize(
    ("reply", "status", "error_type"),
    [
        (server_error(), 500, "api_error"),
        (overloaded(), 529, "overloaded_error"),
        (auth_error(), 401, "authentication_error"),
    ],
)
def test_http_error_replies_carry_the_api_error_body(
    model: ScriptedModel, reply: Any, status: int, error_type: str
) -> None:
    model.push(reply)
    response = httpx.post(f"{model.base_url}/v1/messages", json=body(), headers=HEADERS)
    assert response.status_code == status
    assert response.json()["type"] == "error"
    assert response.json()["error"]["type"] == error_type


def test_only_the_configured_api_key_is_accepted() -> None:
    with ScriptedModel(api_key="right") as model:
        url = f"{model.base_url}/v1/messages"
        wrong = httpx.post(url, json=body(stream=False), headers={"x-api-key": "wrong"})
        right = httpx.post(url, json=body(stream=False), headers={"x-api-key": "right"})
        bearer = httpx.post(url, json=body(stream=False), headers={"authorization": "Bearer right"})
    assert wrong.status_code == 401
    assert wrong.json()["error"]["type"] == "authentication_error"
    assert right.status_code == 200
    assert bearer.status_code == 200
    # Refused requests are recorded too: a test can see the key that was sent.
    assert [r.headers.get("x-api-key") for r in model.requests] == ["wrong", "right", None]


def test_cut_stream_closes_the_connection_after_the_given_deltas(model: ScriptedModel) -> None:
    model.push(cut_stream(text("a", "b", "c"), after_deltas=2))
    events: list[tuple[str, Any]] = []
    with (
        httpx.Client(base_url=model.base_url, timeout=10) as client,
        client.stream("POST", "/v1/messages", json=body(), headers=HEADERS) as response,
        pytest.raises(httpx.RemoteProtocolError),
    ):
        events.extend(sse(response.iter_lines()))
    assert streamed_text(events) == "ab"
    assert "message_stop" not in [name for name, _ in events]


def test_stream_error_sends_an_error_event_and_ends_the_stream(model: ScriptedModel) -> None:
    model.push(stream_error(text("a", "b"), after_deltas=1))
    events = stream_events(model, body())
    assert events[-1] == (
        "error",
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    )
    assert streamed_text(events) == "a"


def test_gate_holds_the_stream_until_set(model: ScriptedModel) -> None:
    gate = threading.Event()
    model.push(text("first", "second", gate=gate, gate_after_deltas=1))
    seen: list[str] = []
    arrived = threading.Condition()

    def read() -> None:
        with (
            httpx.Client(base_url=model.base_url, timeout=10) as client,
            client.stream("POST", "/v1/messages", json=body(), headers=HEADERS) as response,
        ):
            for name, _ in sse(response.iter_lines()):
                with arrived:
                    seen.append(name)
                    arrived.notify_all()

    reader = threading.Thread(target=read)
    reader.start()
    with arrived:
        assert arrived.wait_for(lambda: "content_block_delta" in seen, timeout=10)
        # The server is parked on the gate, so nothing after the first delta exists yet.
        assert seen[-1] == "content_block_delta"
        assert seen.count("content_block_delta") == 1
    gate.set()
    reader.join(timeout=10)
    assert not reader.is_alive()
    assert seen[-1] == "message_stop"
    assert seen.count("content_block_delta") == 2


def test_close_ends_a_held_stream() -> None:
    gate = threading.Event()
    failures: list[BaseException] = []
    with ScriptedModel([text("held", gate=gate)]) as model:

        def read() -> None:
            try:
                stream_events(model, body())
            except httpx.HTTPError as error:
                failures.append(error)

        reader = threading.Thread(target=read)
        reader.start()
        model.wait_for_requests(1, timeout=10)
    reader.join(timeout=10)
    assert not reader.is_alive()
    assert len(failures) == 1
    assert not gate.is_set()


def test_latency_delays_the_first_byte() -> None:
    with ScriptedModel(latency_s=0.3) as model:
        response = httpx.post(f"{model.base_url}/v1/messages", json=body(), headers=HEADERS)
    assert response.status_code == 200
    assert response.elapsed.total_seconds() >= 0.3


def test_gzip_request_bodies_are_decoded(model: ScriptedModel) -> None:
    raw = gzip.compress(json.dumps(body("zipped", stream=False)).encode())
    headers = {**HEADERS, "content-encoding": "gzip", "content-type": "application/json"}
    response = httpx.post(f"{model.base_url}/v1/messages", content=raw, headers=headers)
    assert response.json()["content"][0]["text"] == "ok: zipped"


# script, responder, recording -------------------------------------------------------


def test_script_then_responder_then_default_answer_in_that_order(model: ScriptedModel) -> None:
    def responder(request: RecordedRequest) -> Any:
        prompt = transcript(request)[-1][1][0]
        return text("from responder") if prompt == "route me" else None

    model.push(text("scripted"))
    model.responder = responder

    def ask(prompt: str) -> str:
        reply = httpx.post(
            f"{model.base_url}/v1/messages", json=body(prompt, stream=False), headers=HEADERS
        )
        return str(reply.json()["content"][0]["text"])

    assert [ask("route me"), ask("route me"), ask("anything")] == [
        "scripted",
        "from responder",
        "ok: anything",
    ]
    assert model.pending == 0


def test_requests_are_recorded_with_headers_body_and_kind(model: ScriptedModel) -> None:
    payload = body("record me", stream=False)
    httpx.post(f"{model.base_url}/v1/messages?beta=true", json=payload, headers=HEADERS)
    (request,) = model.wait_for_requests(1, timeout=10)
    assert request.method == "POST"
    assert request.path == "/v1/messages"
    assert request.query == "beta=true"
    assert request.headers["x-api-key"] == "test-key"
    assert request.body == payload
    assert request.kind is RequestKind.CONVERSATION
    assert request.tool_names == ["Bash"]
    assert request.timestamp > 0
    assert model.conversation_requests() == [request]


def test_side_requests_get_canned_answers_and_leave_the_script_alone(
    model: ScriptedModel,
) -> None:
    model.push(text("for the conversation"))
    title_schema = {
        "type": "object",
        "properties": {"title": {"type": "string"}},
        "required": ["title"],
    }
    title = body(
        "name this",
        stream=False,
        output_config={"format": {"type": "json_schema", "schema": title_schema}},
    )
    with httpx.Client(base_url=model.base_url, headers=HEADERS, timeout=10) as client:
        named = client.post("/v1/messages", json=title).json()
        counted = client.post("/v1/messages/count_tokens", json=body()).json()
        hello = client.head("/api/hello")
        missing = client.get("/v1/nowhere")
    assert json.loads(named["content"][0]["text"]) == {"title": "Scripted session"}
    assert counted["input_tokens"] > 0
    assert hello.status_code == 200
    assert missing.status_code == 404
    assert [r.kind for r in model.requests] == [
        RequestKind.TITLE,
        RequestKind.COUNT_TOKENS,
        RequestKind.OTHER,
        RequestKind.OTHER,
    ]
    assert model.pending == 1


def test_structured_side_queries_are_answered_with_schema_shaped_json() -> None:
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}, "n": {"type": "integer"}}}
    side = body(output_config={"format": {"type": "json_schema", "schema": schema}})
    assert classify("POST", "/v1/messages", side) is RequestKind.SIDE
    assert classify("POST", "/v1/messages", body(tools=[])) is RequestKind.CONVERSATION
    with ScriptedModel() as model:
        events = stream_events(model, side)
    assert json.loads(streamed_text(events)) == {"ok": False, "n": 0}


def test_wait_for_requests_reports_what_arrived_when_it_times_out(model: ScriptedModel) -> None:
    httpx.head(f"{model.base_url}/api/hello")
    with pytest.raises(TimeoutError, match="/api/hello"):
        model.wait_for_requests(1, timeout=0.1, kind=RequestKind.CONVERSATION)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_works_from_an_event_loop(model: ScriptedModel) -> None:
    gate = threading.Event()
    model.push(text("late", gate=gate))
    replies: list[str] = []

    async def ask(client: httpx.AsyncClient) -> None:
        response = await client.post("/v1/messages", json=body(stream=False))
        replies.append(response.json()["content"][0]["text"])

    async with httpx.AsyncClient(base_url=model.base_url, headers=HEADERS) as client:
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(ask, client)
                # The held reply blocks a server thread, never this loop.
                await anyio.to_thread.run_sync(model.wait_for_requests, 1, 10.0)
                assert replies == []
                gate.set()
    assert replies == ["late"]


# transcript ------------------------------------------------------------------------


def test_transcript_drops_claude_code_noise() -> None:
    reminder = "<system-reminder>\nAttribution for git commits...\n</system-reminder>\n"
    messages: list[dict[str, Any]] = [
        {
            "role": "user",
            "content": [{"type": "text", "text": reminder}, {"type": "text", "text": "hi"}],
        },
        {"role": "system", "content": "# Environment\nYou have been invoked in ..."},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "so", "signature": "x"},
                {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_1",
                    "content": "a.txt" + reminder,
                    "is_error": False,
                },
                {"type": "text", "text": "next", "cache_control": {"type": "ephemeral"}},
            ],
        },
    ]
    assert transcript(messages) == [
        ("user", ["hi"]),
        ("assistant", ["[thinking] so", '[tool_use Bash {"command":"ls"}]']),
        ("user", ["[tool_result a.txt]", "next"]),
    ]
    assert [role for role, _ in transcript(messages, keep_noise=True)] == [
        "user",
        "system",
        "assistant",
        "user",
    ]


# the standalone process ------------------------------------------------------------


@pytest.mark.parametrize("stop", ["stdin", "sigterm"])
def test_standalone_server_prints_its_url_and_stops_on_eof_or_sigterm(stop: str) -> None:
    command = [sys.executable, "-m", "session_tree.testing", "--port", "0", "--reply", "scripted"]
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE) as process:
        assert process.stdin is not None
        assert process.stdout is not None
        try:
            base_url = process.stdout.readline().decode().strip()
            assert base_url.startswith("http://127.0.0.1:")
            reply = httpx.post(f"{base_url}/v1/messages", json=body(stream=False), timeout=10)
            assert reply.json()["content"][0]["text"] == "scripted"
            if stop == "stdin":
                process.stdin.close()
            else:
                process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
            assert process.stdout.read() == b""
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)


# the real claude --------------------------------------------------------------------

CLAUDE = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"


def run_claude(
    model: ScriptedModel,
    home: Path,
    *args: str,
    max_retries: int | None = None,
    env: dict[str, str] | None = None,
    stdin: bytes = b"",
) -> tuple[int, list[dict[str, Any]]]:
    """`claude -p ARGS` with stream-json output; its exit code and output messages."""
    command = [str(CLAUDE), "-p", *args, "--output-format", "stream-json", "--verbose"]
    environment = env or child_env(model, home, inherit=True, max_retries=max_retries)
    with subprocess.Popen(
        command,
        env=environment,
        cwd=home,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        try:
            out, _ = process.communicate(stdin, timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
    return process.returncode, [json.loads(line) for line in out.splitlines() if line.strip()]


def result_of(messages: list[dict[str, Any]]) -> dict[str, Any]:
    (result,) = [m for m in messages if m.get("type") == "result"]
    return result


def test_claude_reports_a_scripted_text_reply_as_its_result(tmp_path: Path) -> None:
    with ScriptedModel([text("Hello ", "from the script")]) as model:
        code, output = run_claude(model, tmp_path, "say hello")
    assert code == 0
    assert result_of(output)["result"] == "Hello from the script"
    (request,) = model.requests
    assert request.kind is RequestKind.CONVERSATION
    assert request.stream
    assert transcript(request) == [("user", ["say hello"])]


def test_claude_runs_a_scripted_tool_call_and_sends_its_result_back(tmp_path: Path) -> None:
    call = tool_use("Bash", {"command": "echo hi"})
    with ScriptedModel([call, text("ran it")]) as model:
        code, output = run_claude(model, tmp_path, "run echo", "--allowedTools", "Bash")
    assert code == 0
    assert result_of(output)["result"] == "ran it"
    first, second = model.conversation_requests()
    assert "Bash" in first.tool_names
    assert transcript(second) == [
        ("user", ["run echo"]),
        ("assistant", ['[tool_use Bash {"command":"echo hi"}]']),
        ("user", ["[tool_result hi]"]),
    ]
    (tool_result,) = second.messages[-1]["content"]
    (block,) = call.content
    assert isinstance(block, ToolUseBlock)
    assert tool_result["tool_use_id"] == block.id


def test_claude_fails_fast_on_a_bad_api_key(tmp_path: Path) -> None:
    # claude retries a 401 like a 500 (ten times, minutes of backoff), so
    # failing fast needs CLAUDE_CODE_MAX_RETRIES=0 here too.
    with ScriptedModel(api_key="the-right-key") as model:
        env = child_env(model, tmp_path, inherit=True, max_retries=0)
        code, output = run_claude(model, tmp_path, "hi", env=env | {"ANTHROPIC_API_KEY": "wrong"})
    assert code == 1
    result = result_of(output)
    assert result["is_error"]
    assert result["api_error_status"] == 401
    assert "API key" in result["result"]
    assert len(model.requests) == 1


def test_claude_fails_fast_on_a_500_without_retries(tmp_path: Path) -> None:
    with ScriptedModel([server_error("scripted outage")]) as model:
        code, output = run_claude(model, tmp_path, "hi", max_retries=0)
    assert code == 1
    result = result_of(output)
    assert result["is_error"]
    assert result["api_error_status"] == 500
    assert "scripted outage" in result["result"]
    assert len(model.requests) == 1


def test_claude_repeats_a_cut_stream_as_a_non_streaming_request(tmp_path: Path) -> None:
    # Not a retry in claude's counting: it happens with CLAUDE_CODE_MAX_RETRIES=0.
    with ScriptedModel([cut_stream(text("par", "tial"), after_deltas=1)]) as model:
        code, output = run_claude(model, tmp_path, "hi", max_retries=0)
    assert code == 0
    assert result_of(output)["result"] == "ok: hi"
    assert [r.stream for r in model.conversation_requests()] == [True, False]


def test_claude_title_requests_do_not_consume_the_script(tmp_path: Path) -> None:
    # claude names a session only as the Agent SDK's child (entrypoint sdk-py,
    # stream-json input) and only for a prompt that is not too short;
    # child_env's nonessential-traffic switch is what normally stops it.
    prompt = {"type": "user", "message": {"role": "user", "content": "write a haiku about the sea"}}
    with ScriptedModel([text("scripted answer")]) as model:
        env = child_env(model, tmp_path, inherit=True) | {"CLAUDE_CODE_ENTRYPOINT": "sdk-py"}
        del env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"]
        code, output = run_claude(
            model,
            tmp_path,
            "--input-format",
            "stream-json",
            env=env,
            stdin=json.dumps(prompt).encode() + b"\n",
        )
    assert code == 0
    assert result_of(output)["result"] == "scripted answer"
    # The title request runs beside the conversation's, so order is not fixed.
    by_kind = {r.kind: r for r in model.requests}
    assert sorted(by_kind) == sorted(
        [RequestKind.OTHER, RequestKind.TITLE, RequestKind.CONVERSATION]
    )
    assert len(model.requests) == 3
    assert by_kind[RequestKind.OTHER].path == "/api/hello"
    assert transcript(by_kind[RequestKind.CONVERSATION]) == [
        ("user", ["write a haiku about the sea"])
    ]


def test_claude_compaction_gets_a_canned_summary_and_leaves_the_script(tmp_path: Path) -> None:
    with ScriptedModel([text("first answer"), text("after compaction")]) as model:
        _, first = run_claude(model, tmp_path, "first prompt")
        session = result_of(first)["session_id"]
        code, _ = run_claude(model, tmp_path, "/compact", "--resume", session)
        assert code == 0
        _, last = run_claude(model, tmp_path, "next prompt", "--resume", session)
    assert result_of(last)["result"] == "after compaction"
    assert [r.kind for r in model.requests] == [
        RequestKind.CONVERSATION,
        RequestKind.COMPACT,
        RequestKind.CONVERSATION,
    ]
    (user, blocks) = transcript(model.requests[-1])[0]
    assert user == "user"
    assert "Scripted summary." in blocks[0]


def test_a_gated_reply_keeps_claude_running_until_released(tmp_path: Path) -> None:
    gate = threading.Event()
    with ScriptedModel([text("held ", "answer", gate=gate, gate_after_deltas=1)]) as model:
        command = [str(CLAUDE), "-p", "hold on", "--output-format", "stream-json", "--verbose"]
        with subprocess.Popen(
            command,
            env=child_env(model, tmp_path, inherit=True),
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        ) as process:
            try:
                model.wait_for_requests(1, timeout=30)
                # The turn cannot end while its stream is parked on the gate.
                assert process.poll() is None
                gate.set()
                out, _ = process.communicate(timeout=60)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait(timeout=10)
    messages = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert result_of(messages)["result"] == "held answer"
