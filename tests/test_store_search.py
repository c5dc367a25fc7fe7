"""The search index and titles in the store: kept in step by triggers, built for old files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from session_tree.errors import InvalidArgument
from session_tree.models import NewNode, NodeKind
from session_tree.store import Store
from session_tree.store._migrations import APPLICATION_ID, MIGRATIONS

pytestmark = pytest.mark.anyio

OURS = "0010_titles_and_search"


def node(kind: NodeKind, **data: object) -> NewNode:
    return NewNode(kind=kind, data=dict(data))


def turn(prompt: str, reply: str) -> list[NewNode]:
    return [
        node(NodeKind.USER, text=prompt),
        node(NodeKind.TEXT, text=reply),
        node(NodeKind.SUMMARY, usage={"cost_usd": 0.01}),
    ]


async def test_search_finds_each_kind_of_text_newest_first(store: Store) -> None:
    session = await store.sessions.create("main")
    nodes = await store.nodes.append_chain(
        session.head_id,
        [
            node(NodeKind.USER, text="where is the login bug"),
            node(NodeKind.THINKING, thinking="the login form drops the token", signature="s"),
            node(NodeKind.TOOL_USE, id="t1", name="Bash", input={"command": "grep -n token\nlogin.py"}),
            node(NodeKind.TOOL_RESULT, tool_use_id="t1", content=[{"type": "text", "text": "42: token = None"}]),
            node(NodeKind.TEXT, text="Fixed: the login token was never set"),
            node(NodeKind.SUMMARY, usage={}),
        ],
    )  # fmt: skip

    hits = await store.search.nodes("token")

    assert [hit.node_id for hit in hits] == [nodes[4].id, nodes[3].id, nodes[2].id, nodes[1].id]
    assert [hit.kind for hit in hits] == [
        NodeKind.TEXT, NodeKind.TOOL_RESULT, NodeKind.TOOL_USE, NodeKind.THINKING,
    ]  # fmt: skip
    assert "[token]" in hits[0].snippet
    # The JSON escape of the newline in the command is not glued onto the next word.
    assert [hit.node_id for hit in await store.search.nodes("login.py", phrase=True)] == [
        nodes[2].id
    ]
    assert all(hit.summary_id == nodes[5].id for hit in hits)
    assert all(hit.prompt_id == nodes[0].id for hit in hits)


async def test_a_phrase_is_marked_once_in_its_snippet_on_both_backends(store: Store) -> None:
    session = await store.sessions.create("main")
    await store.nodes.append_chain(
        session.head_id, [node(NodeKind.TEXT, text="The purple walrus hides in the attic.")]
    )

    (hit,) = await store.search.nodes("walrus hides in the attic", phrase=True)
    (words,) = await store.search.nodes("walrus attic")

    assert "[walrus hides in the attic]" in hit.snippet
    assert "[walrus]" in words.snippet
    assert "[attic]" in words.snippet


async def test_words_match_in_any_order_and_a_phrase_only_in_its_order(store: Store) -> None:
    session = await store.sessions.create("main")
    (said,) = await store.nodes.append_chain(
        session.head_id, [node(NodeKind.TEXT, text="the purple walrus sings")]
    )

    assert [hit.node_id for hit in await store.search.nodes("walrus purple")] == [said.id]
    assert await store.search.nodes("walrus purple", phrase=True) == []
    assert [h.node_id for h in await store.search.nodes("purple walrus", phrase=True)] == [said.id]
    # FTS5's own syntax is plain text here: no syntax error, no operator.
    assert await store.search.nodes('walrus" OR "x') == []
    with pytest.raises(InvalidArgument):
        await store.search.nodes("   ")


async def test_deleted_and_collected_nodes_leave_the_index(store: Store) -> None:
    keep = await store.sessions.create("keep")
    gone = await store.sessions.create("gone")
    kept = await store.nodes.append_chain(keep.head_id, turn("q", "zebra in keep"))
    await store.sessions.set_head("keep", kept[-1].id)
    await store.nodes.append_chain(gone.head_id, turn("q", "zebra in gone"))
    side = await store.nodes.append(
        keep.head_id, NewNode(kind=NodeKind.TEXT, data={"text": "zebra aside"}, ephemeral=True)
    )

    await store.sessions.delete("gone")
    await store.nodes.collect_garbage(keep.tree_id)

    hits = await store.search.nodes("zebra")
    assert [hit.tree_id for hit in hits] == [keep.tree_id]
    assert side.id not in {hit.node_id for hit in hits}
    await store.search.index_check()


async def test_search_keeps_to_the_trees_asked_for_and_pages_by_node(store: Store) -> None:
    one = await store.sessions.create("one")
    two = await store.sessions.create("two")
    first = await store.nodes.append_chain(one.head_id, turn("q", "kiwi one"))
    second = await store.nodes.append_chain(two.head_id, turn("q", "kiwi two"))

    assert [h.node_id for h in await store.search.nodes("kiwi", trees={one.tree_id})] == [
        first[1].id
    ]
    page = await store.search.nodes("kiwi", limit=1)
    assert [h.node_id for h in page] == [second[1].id]
    after = await store.search.nodes("kiwi", before=page[-1].node_id, limit=1)
    assert [h.node_id for h in after] == [first[1].id]


async def test_titles_come_from_the_first_prompt_and_forks_are_marked(store: Store) -> None:
    main = await store.sessions.create("main")
    assert main.title is None
    long_line = "word " * 40
    chain = await store.nodes.append_chain(main.head_id, turn(f"\n  {long_line}\nmore", "ok"))
    await store.sessions.set_head("main", chain[-1].id)

    title = (await store.sessions.get("main")).title
    assert title is not None
    assert len(title) == 80
    assert title.endswith("…")
    assert title.startswith("word word")
    fork = await store.sessions.fork("main", "exp")
    assert fork.title == title + " (fork)"
    assert (await store.sessions.fork("exp", "exp2")).title == title + " (fork)"
    renamed = await store.sessions.set_title("exp", "Try the other fix")
    assert renamed.title == "Try the other fix"
    titled = await store.sessions.create("given", title="Given title")
    assert (await store.sessions.get("given")).title == titled.title == "Given title"


def build_database_before_ours(path: Path) -> None:
    """A file with every migration before ours applied, and a conversation in it."""
    before = MIGRATIONS[: [name for name, _ in MIGRATIONS].index(OURS)]
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
    for name, sql in before:
        conn.executescript(sql)
        conn.execute("INSERT INTO migrations VALUES (?, 1.0)", (name,))
    conn.execute("INSERT INTO trees (id, created_at) VALUES (1, 1.0)")
    rows = [
        (1, None, "root", "{}", 0, 0),
        (2, 1, "user", '{"text":"Fix the flaky upload test\\nplease"}', 0, 1),
        (3, 2, "text", '{"text":"The upload retried on a closed socket"}', 0, 2),
        (4, 3, "summary", '{"usage":{}}', 0, 3),
        (5, 4, "text", '{"text":"an ephemeral socket aside"}', 1, 4),
    ]
    for node_id, parent, kind, data, ephemeral, depth in rows:
        conn.execute(
            "INSERT INTO nodes (id, tree_id, parent_id, kind, data, ephemeral, depth, created_at) "
            "VALUES (?, 1, ?, ?, ?, ?, ?, 1.0)",
            (node_id, parent, kind, data, ephemeral, depth),
        )
    conn.execute(
        "INSERT INTO sessions (name, tree_id, head_id, config, status, usage, created_at, "
        "updated_at) VALUES ('old', 1, 4, '{}', 'idle', '{}', 1.0, 1.0)"
    )
    conn.close()


async def test_a_database_from_before_search_is_indexed_by_the_upgrade(db_path: Path) -> None:
    build_database_before_ours(db_path)

    async with Store.open(db_path) as store:
        hits = await store.search.nodes("socket")
        old = await store.sessions.get("old")
        new = await store.nodes.append(old.head_id, node(NodeKind.TEXT, text="socket again"))
        after = await store.search.nodes("socket")
        await store.search.index_check()

    assert [hit.node_id for hit in hits] == [3]  # the ephemeral aside is not indexed
    assert hits[0].summary_id == 4
    assert old.title == "Fix the flaky upload test"
    assert [hit.node_id for hit in after] == [new.id, 3]
    with sqlite3.connect(db_path) as conn:
        names = [row[0] for row in conn.execute("SELECT name FROM migrations")]
    assert OURS in names
