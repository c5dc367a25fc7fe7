"""Model and prompt per branch, and a child started before its first prompt, end to end.

Every assertion about what a child ran with is read from the requests the
scripted model recorded: the model name and system prompt of each request, and
the history it carried.
"""

from __future__ import annotations

from typing import Any

import pytest

from session_tree.testing import RecordedRequest, ScriptedModel, text, transcript

from .harness import Harness

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

SONNET = "claude-sonnet-4-5"
HAIKU = "claude-haiku-4-5"


def last_request(model: ScriptedModel) -> RecordedRequest:
    return model.conversation_requests()[-1]


async def test_a_fork_with_another_model_and_prompt_sends_them_with_the_branch_history(
    harness: Harness, model: ScriptedModel
) -> None:
    await harness.call("create", name="main", model=SONNET, system_prompt="You are Alice.")
    model.push(text("first answer"))
    await harness.call("chat", name="main", prompt="first")

    forked = await harness.call(
        "fork", name="main", new_name="bob", model=HAIKU, system_prompt="You are Bob."
    )
    model.push(text("bob's answer"))
    on_fork = await harness.call("chat", name="bob", prompt="second, on the fork")
    fork_request = last_request(model)
    model.push(text("alice's answer"))
    on_origin = await harness.call("chat", name="main", prompt="second, on main")
    origin_request = last_request(model)

    assert forked["config"]["model"] == HAIKU
    assert on_fork["status"] == on_origin["status"] == "completed"
    assert fork_request.model == HAIKU
    assert "You are Bob." in fork_request.system_text
    assert "You are Alice." not in fork_request.system_text
    assert transcript(fork_request) == [
        ("user", ["first"]),
        ("assistant", ["first answer"]),
        ("user", ["second, on the fork"]),
    ]
    assert origin_request.model == SONNET
    assert "You are Alice." in origin_request.system_text
    assert "You are Bob." not in origin_request.system_text
    assert transcript(origin_request) == [
        ("user", ["first"]),
        ("assistant", ["first answer"]),
        ("user", ["second, on main"]),
    ]
    bob = await harness.call("get", name="bob")
    main = await harness.call("get", name="main")
    assert (bob["session"]["config"]["model"], bob["child_model"]) == (HAIKU, HAIKU)
    assert (main["session"]["config"]["model"], main["child_model"]) == (SONNET, SONNET)


async def test_configure_model_takes_effect_on_the_next_turn_in_the_same_child(
    harness: Harness, model: ScriptedModel
) -> None:
    await harness.call("create", name="main", model=SONNET)
    model.push(text("on sonnet"))
    await harness.call("chat", name="main", prompt="first")
    (before,) = harness.claude_children()

    configured = await harness.call("configure", name="main", model=HAIKU)
    model.push(text("on haiku"))
    reply = await harness.call("chat", name="main", prompt="second")

    assert configured["config"]["model"] == HAIKU
    assert reply["status"] == "completed", reply
    request = last_request(model)
    assert request.model == HAIKU
    said = transcript(request)
    assert said[:2] == [("user", ["first"]), ("assistant", ["on sonnet"])]
    # Claude Code notes the switch in the history (its /model command), then the prompt.
    assert said[2][0] == "user"
    assert said[2][1][-1] == "second"
    assert any("/model" in block for block in said[2][1])
    # Switched in place: the warm child answered, no new process started.
    assert [p.pid for p in harness.claude_children()] == [before.pid]
    assert (await harness.call("get", name="main"))["child_model"] == HAIKU


async def test_configure_system_prompt_and_max_turns_start_a_child_from_the_head(
    harness: Harness, model: ScriptedModel
) -> None:
    await harness.call("create", name="main", system_prompt="You are Alice.")
    model.push(text("hello"))
    await harness.call("chat", name="main", prompt="first")

    configured = await harness.call(
        "configure", name="main", system_prompt="You are Carol.", max_turns=3
    )
    model.push(text("carol here"))
    await harness.call("chat", name="main", prompt="second")

    assert configured["config"]["system_prompt"] == "You are Carol."
    assert configured["config"]["max_turns"] == 3
    request = last_request(model)
    assert "You are Carol." in request.system_text
    assert "You are Alice." not in request.system_text
    assert transcript(request)[0] == ("user", ["first"])
    assert transcript(request)[-1] == ("user", ["second"])


async def test_create_with_start_runs_the_child_before_the_first_chat(
    harness: Harness, model: ScriptedModel
) -> None:
    await harness.call("create", name="main", model=HAIKU, start=True)
    children = harness.claude_children()
    got = await harness.call("get", name="main")

    model.push(text("ready"))
    reply = await harness.call("chat", name="main", prompt="first")

    assert len(children) == 1
    assert got["warm"] is True
    assert reply["status"] == "completed", reply
    assert reply["text"] == "ready"
    assert last_request(model).model == HAIKU
    assert transcript(last_request(model)) == [("user", ["first"])]
    # The child started at create took the turn.
    assert [p.pid for p in harness.claude_children()] == [children[0].pid]


async def test_a_fork_with_a_bad_model_name_is_refused_and_not_made(harness: Harness) -> None:
    await harness.call("create", name="main")

    error = await harness.call_error("fork", name="main", new_name="bad", model="two words")

    assert "model" in error
    assert "bad" not in [row["session"]["name"] for row in await list_rows(harness)]


async def list_rows(harness: Harness) -> list[dict[str, Any]]:
    listed = await harness.call("list")
    rows: list[dict[str, Any]] = listed["result"]
    return rows
