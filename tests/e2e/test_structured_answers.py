"""Structured answers end to end: chat(output_schema) -> claude's StructuredOutput tool -> an object.

Claude Code gives the model a ``StructuredOutput`` tool whose input schema is the
chat's schema and ends the turn when the model calls it with a valid object; the
scripted model plays that call.
"""

from __future__ import annotations

from typing import Any

import pytest

from session_tree.testing import ScriptedModel, text, tool_use, transcript

from .harness import Harness

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
    "required": ["city", "population"],
    "additionalProperties": False,
}


def structured_tool(request_index: int, model: ScriptedModel) -> dict[str, Any]:
    request = model.conversation_requests()[request_index]
    tools = [t for t in request.json.get("tools", []) if t.get("name") == "StructuredOutput"]
    assert len(tools) == 1, f"no StructuredOutput tool in {request.tool_names}"
    found: dict[str, Any] = tools[0]
    return found


async def test_chat_with_output_schema_returns_the_validated_object(
    harness: Harness, model: ScriptedModel
) -> None:
    model.push(tool_use("StructuredOutput", {"city": "Lyon", "population": 522_000}))
    await harness.call("create", name="main")

    reply = await harness.call(
        "chat", name="main", prompt="The largest city on the Rhône?", output_schema=SCHEMA
    )

    assert reply["status"] == "completed", reply
    assert reply["structured_output"] == {"city": "Lyon", "population": 522_000}
    assert structured_tool(0, model)["input_schema"] == SCHEMA
    session = await harness.call("get", name="main")
    assert session["session"]["head_id"] == reply["head_id"]


async def test_a_reply_that_cannot_meet_the_schema_fails_the_turn(
    harness: Harness, model: ScriptedModel
) -> None:
    # A wrong object (told why by claude), then prose twice: no valid answer ever comes.
    model.push(tool_use("StructuredOutput", {"city": "Lyon", "population": "many"}))
    model.push(text("It is Lyon."), text("Lyon, truly."), text("Lyon."))
    created = await harness.call("create", name="main")

    reply = await harness.call("chat", name="main", prompt="Which city?", output_schema=SCHEMA)

    assert reply["status"] == "failed"
    assert reply["structured_output"] is None
    assert "output_schema" in reply["error"]
    assert reply["head_id"] == created["head_id"]
    # Claude Code told the model what was wrong with its first try.
    told = transcript(model.conversation_requests()[1])
    assert any("population" in block for _, blocks in told for block in blocks)


async def test_an_invalid_schema_is_refused_before_the_turn_starts(
    harness: Harness, model: ScriptedModel
) -> None:
    await harness.call("create", name="main")

    not_a_schema = await harness.call_error(
        "chat", name="main", prompt="hi", output_schema={"type": "objekt"}
    )
    not_an_object = await harness.call_error(
        "chat", name="main", prompt="hi", output_schema={"type": "array"}
    )

    assert "not a valid JSON Schema" in not_a_schema
    assert "must describe an object" in not_an_object
    assert model.conversation_requests() == []
    assert (await harness.call("streams", name="main"))["streams"] == []


async def test_a_plain_turn_after_a_structured_one_has_no_schema_and_keeps_the_history(
    harness: Harness, model: ScriptedModel
) -> None:
    model.push(tool_use("StructuredOutput", {"city": "Lyon", "population": 522_000}))
    model.push(text("Lyon is on the Rhône."))
    await harness.call("create", name="main")
    await harness.call("chat", name="main", prompt="Which city?", output_schema=SCHEMA)

    reply = await harness.call("chat", name="main", prompt="Where is it?")

    assert reply["status"] == "completed", reply
    assert reply["structured_output"] is None
    second = model.conversation_requests()[-1]
    assert "StructuredOutput" not in second.tool_names
    # The whole branch: the StructuredOutput call answered, as Claude Code recorded it.
    assert transcript(second) == [
        ("user", ["Which city?"]),
        ("assistant", ['[tool_use StructuredOutput {"city":"Lyon","population":522000}]']),
        ("user", ["[tool_result Structured output provided successfully]", "Where is it?"]),
    ]
