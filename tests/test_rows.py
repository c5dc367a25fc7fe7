"""Numbers JSON cannot hold (Infinity, NaN): refused from callers, nulled from a child.

Python's json writes them as bare ``Infinity`` and ``NaN``; SQLite's json()
refuses such a row, so a node holding one would break every path through it.
"""

from __future__ import annotations

import math
from typing import Any

import anyio
import pytest
from claude_agent_sdk import AssistantMessage, ResultMessage, ToolUseBlock

from session_tree.agents._items import Result
from session_tree.agents._translate import translate
from session_tree.errors import InvalidArgument
from session_tree.models import ApprovalStatus, NewNode, NodeKind, SessionConfig
from session_tree.service import Loopback, PermitResult
from session_tree.store import Store
from session_tree.store._rows import dumps

pytestmark = pytest.mark.anyio

NON_FINITE = [math.inf, -math.inf, math.nan]


@pytest.mark.parametrize("number", NON_FINITE, ids=["inf", "-inf", "nan"])
def test_dumps_refuses_a_non_finite_number_and_says_where_it_is(number: float) -> None:
    with pytest.raises(InvalidArgument) as caught:
        dumps({"a": [1, {"b": number}], "c": "fine"})
    assert "$.a[1].b" in str(caught.value)
    assert repr(number) in str(caught.value)


def test_dumps_writes_finite_values_compactly_and_unescaped() -> None:
    assert dumps({"x": [1.5, -0.0, 10**20, None, True], "t": "é"}) == (
        '{"x":[1.5,-0.0,100000000000000000000,null,true],"t":"é"}'
    )


async def test_a_node_holding_infinity_is_refused_and_the_branch_still_reads(
    store: Store,
) -> None:
    session = await store.sessions.create("main")
    good = await store.nodes.append(
        session.head_id, NewNode(kind=NodeKind.TEXT, data={"text": "a"})
    )

    with pytest.raises(InvalidArgument, match=r"\$\.input\.n"):
        await store.nodes.append(
            good.id,
            NewNode(
                kind=NodeKind.TOOL_USE, data={"id": "t", "name": "X", "input": {"n": math.inf}}
            ),
        )

    assert [n.id for n in await store.nodes.path(good.id)] == [session.head_id, good.id]
    assert await store.nodes.children(good.id) == []


async def test_an_updated_input_holding_infinity_is_refused_and_the_approval_stays_pending(
    store: Store,
) -> None:
    await store.sessions.create("main", SessionConfig(loopback=True))
    start = await store.turns.begin("main", NewNode(kind=NodeKind.USER, data={"text": "go"}))
    loopback = Loopback(store)
    results: list[PermitResult] = []

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:

            async def ask() -> None:
                results.append(
                    await loopback.ask(
                        "main",
                        tool_name="Write",
                        tool_input={"file_path": "/a"},
                        tool_use_id="toolu_1",
                        stream_id=start.stream.id,
                    )
                )

            tg.start_soon(ask)
            (pending,) = await store.approvals.wait_pending("main", timeout=10)
            with pytest.raises(InvalidArgument, match=r"\$\.updatedInput\.limit"):
                await loopback.respond(
                    pending.id, allow=True, updated_input={"file_path": "/a", "limit": math.nan}
                )
            assert (await store.approvals.get(pending.id)).status is ApprovalStatus.PENDING
            await loopback.respond(pending.id, allow=True, updated_input={"file_path": "/b"})

    assert results == [PermitResult.allow({"file_path": "/b"})]


def test_a_child_message_holding_non_finite_numbers_is_kept_with_them_as_null() -> None:
    message = AssistantMessage(
        content=[ToolUseBlock(id="t1", name="Calc", input={"x": math.inf, "xs": [1.0, math.nan]})],
        model="m",
        uuid="u1",
    )

    (item,) = translate(message, ephemeral=False)

    assert item.node is not None
    expected: dict[str, Any] = {"x": None, "xs": [1.0, None]}
    assert item.node.data["input"] == expected
    assert item.data["input"] == expected
    dumps(item.node.data)  # storable


def test_a_result_with_non_finite_cost_and_tokens_counts_them_as_zero() -> None:
    result = ResultMessage(
        subtype="success",
        duration_ms=1,
        duration_api_ms=1,
        is_error=False,
        num_turns=1,
        session_id="s",
        total_cost_usd=math.inf,
        usage={"input_tokens": math.inf, "output_tokens": 3},
    )

    (item,) = translate(result, ephemeral=False)

    assert item.data["total_cost_usd"] is None
    assert item.data["usage"] == {"input_tokens": None, "output_tokens": 3}
    dumps(item.data)
    assert isinstance(item, Result)
    usage = item.usage
    assert (usage.cost_usd, usage.input_tokens, usage.output_tokens) == (0.0, 0, 3)
