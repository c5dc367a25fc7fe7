"""The browser view end to end: a real ``session-tree serve`` with real children, a real
``session-tree ui`` beside it on the same database, and headless Chromium looking at it.

The only stand-in is the model. Browser calls block, so they run in a worker thread
(``look``), leaving the event loop to the MCP client of the harness.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import anyio
import httpx
import pytest
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from session_tree.testing import ScriptedModel, text, tool_use, transcript

from .browser import UI, chromium, css, run_ui, screenshot, wait
from .harness import Harness, first_delta_stored

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

T = TypeVar("T")


@pytest.fixture
def ui(harness: Harness, tmp_path: Path) -> Iterator[UI]:
    with run_ui(harness.db, tmp_path / "ui.log") as running:
        yield running


@pytest.fixture
def browser(ui: UI, tmp_path: Path) -> Iterator[WebDriver]:
    with chromium(tmp_path / "profile") as driver:
        driver.get(ui.url)  # the token becomes a cookie; the address bar drops it
        assert "token=" not in driver.current_url
        yield driver


async def look(action: Callable[[], T]) -> T:
    return await anyio.to_thread.run_sync(action)


@pytest.fixture
async def asked(harness: Harness, model: ScriptedModel, tmp_path: Path) -> Path:
    """A loopback session "main" whose child waits for a decision on a Write of ``asked``."""
    target = tmp_path / "asked.txt"
    model.push(tool_use("Write", {"file_path": str(target), "content": "from the child"}))
    model.push(text("done with the file"))
    await harness.call("create", name="main", cwd=str(tmp_path), loopback=True)
    await harness.call("chat_async", name="main", prompt="write the file")
    return target


def _says(element: WebElement, text: str) -> Callable[[WebDriver], bool]:
    return lambda _driver: text in element.text


def card_for(driver: WebDriver, tool: str) -> bool:
    return any(tool in c.text for c in css(driver, "#inbox .card"))


async def test_the_page_lists_the_sessions_and_a_fork_shows_as_a_branch(
    harness: Harness, ui: UI, browser: WebDriver
) -> None:
    await harness.call("create", name="main")
    one = await harness.call("chat", name="main", prompt="first question")
    await harness.call("fork", name="main", new_name="alt", at=one["head_id"])
    await harness.call("chat", name="alt", prompt="the other way")
    await harness.call("chat", name="main", prompt="the main way")

    def sessions() -> list[str]:
        browser.get(ui.base + "/")
        return [row.get_attribute("data-session") or "" for row in css(browser, "tr[data-session]")]

    assert sorted(await look(sessions)) == ["alt", "main"]

    def forks_of_main() -> list[str]:
        browser.get(ui.base + "/?forked_from=main")
        return [row.get_attribute("data-session") or "" for row in css(browser, "tr[data-session]")]

    assert await look(forks_of_main) == ["alt"]

    def tree() -> dict[str, object]:
        browser.get(ui.base + "/s/main")
        fork_rows = [
            r.get_attribute("data-node") for r in css(browser, "li.row") if "fork point" in r.text
        ]
        heads = {h.text.removeprefix("◀ ").strip(): h for h in css(browser, "a.head")}
        lanes = {
            name: head.find_element("xpath", "..").get_attribute("data-lane")
            for name, head in heads.items()
        }
        # A node's content, on click.
        user_row = next(r for r in css(browser, "li.row") if "the other way" in r.text)
        user_row.click()
        panel = wait(browser, lambda d: css(d, "#panel:not([hidden]) .panel-data"), "the panel")
        screenshot(browser, "ui-tree.png")
        return {"forks": fork_rows, "lanes": lanes, "panel": panel[0].text}

    seen = await look(tree)
    assert seen["forks"] == [str(one["head_id"])]
    # The fork point's oldest child (alt's turn came first) goes on in its lane; the
    # younger branch (main's second turn) takes a lane of its own.
    assert seen["lanes"] == {"alt": "0", "main": "1"}
    assert '"text": "the other way"' in str(seen["panel"])

    def rendered() -> str:
        browser.get(ui.base + "/s/alt/render")
        return " | ".join(m.text for m in css(browser, "article.message"))

    shown = await look(rendered)
    assert "first question" in shown
    assert "the other way" in shown
    assert "the main way" not in shown


async def test_an_interrupted_turn_shows_as_a_side_branch(
    harness: Harness, model: ScriptedModel, ui: UI, browser: WebDriver
) -> None:
    held = threading.Event()
    model.push(text("half of ", "an answer", gate=held, gate_after_deltas=1))
    await harness.call("create", name="main")
    await harness.call("chat_async", name="main", prompt="a turn cut short")
    try:
        await first_delta_stored(harness, "main")
        await harness.call("interrupt", name="main")
    finally:
        held.set()
    await harness.call("chat", name="main", prompt="the turn that stayed")

    def rows() -> dict[str, str]:
        browser.get(ui.base + "/s/main")
        return {
            r.text: r.get_attribute("class") or ""
            for r in css(browser, "ol.rows li.row[data-node]")
        }

    drawn = await look(rows)
    (cut,) = [text for text in drawn if "a turn cut short" in text]
    assert "interrupted" in cut
    assert "side" in drawn[cut]
    (kept,) = [t for t in drawn if "the turn that stayed" in t and "ok:" not in t]
    assert "interrupted" not in kept
    assert "side" not in drawn[kept]
    assert any("fork point" in text for text in drawn)  # the root: the cut turn and the kept one


async def test_allow_in_the_inbox_lets_the_child_write_and_the_stream_go_on(
    harness: Harness, ui: UI, browser: WebDriver, asked: Path
) -> None:
    def allow() -> str:
        browser.get(ui.base + "/inbox")
        wait(browser, lambda d: card_for(d, "Write"), "the Write approval in the inbox")
        (card,) = css(browser, "#inbox .card")
        shown = card.find_element("css selector", "textarea").get_attribute("value") or ""
        screenshot(browser, "ui-inbox.png")
        card.find_element("css selector", "button.allow").click()
        wait(browser, lambda d: "allowed" in card.text, "the allow being recorded")
        return shown

    shown = await look(allow)
    assert str(asked) in shown
    assert "from the child" in shown

    (stream,) = (await harness.call("streams", name="main"))["streams"]
    events = await harness.poll_to_end(stream["stream_id"])
    assert await anyio.Path(asked).read_text() == "from the child"
    assert events[-1]["kind"] == "turn_end"

    def final_text() -> str:
        browser.get(f"{ui.base}/streams/{stream['stream_id']}")
        return wait(browser, lambda d: css(d, ".final-text"), "the final text")[0].text

    assert await look(final_text) == "done with the file"

    # The inbox empties itself: nothing waits any more.
    def inbox_empty() -> bool:
        browser.get(ui.base + "/inbox")
        return bool(
            wait(browser, lambda d: not css(d, "#inbox .card"), "an empty inbox") is not None
        )

    assert await look(inbox_empty)


async def test_deny_with_a_message_in_the_inbox_reaches_the_child(
    harness: Harness, model: ScriptedModel, ui: UI, browser: WebDriver, asked: Path
) -> None:
    def deny() -> None:
        browser.get(ui.base + "/inbox")
        wait(browser, lambda d: card_for(d, "Write"), "the Write approval in the inbox")
        (card,) = css(browser, "#inbox .card")
        card.find_element("css selector", "input.message").send_keys("Not here: use /tmp/scratch.")
        card.find_element("css selector", "button.deny").click()
        wait(browser, lambda d: "denied" in card.text, "the deny being recorded")

    await look(deny)
    (stream,) = (await harness.call("streams", name="main"))["streams"]
    await harness.poll_to_end(stream["stream_id"])
    assert not await anyio.Path(asked).exists()
    _, blocks = transcript(model.conversation_requests()[-1])[-1]
    (result,) = [b for b in blocks if b.startswith("[tool_result")]
    assert "Not here: use /tmp/scratch." in result


async def test_an_edited_input_is_what_runs_and_remember_keeps_a_rule(
    harness: Harness, ui: UI, browser: WebDriver, asked: Path
) -> None:
    def edit_and_allow() -> None:
        browser.get(ui.base + "/inbox")
        wait(browser, lambda d: card_for(d, "Write"), "the Write approval in the inbox")
        (card,) = css(browser, "#inbox .card")
        box = card.find_element("css selector", "textarea")
        # Not an object: refused in the page, nothing decided (null would read as no edit).
        outcome = card.find_element("css selector", ".outcome")
        for wrong, said in (
            ("null", "must be a JSON object"),
            ("[1, 2]", "must be a JSON object"),
            ("{not json", "is not JSON"),
        ):
            browser.execute_script("arguments[0].value = arguments[1]", box, wrong)
            browser.execute_script("arguments[0].textContent = ''", outcome)
            card.find_element("css selector", "button.allow").click()
            wait(browser, _says(outcome, said), f"the refusal of {wrong}")
            assert card.find_element("css selector", "button.allow").is_enabled()
        edited = json.dumps({"file_path": str(asked), "content": "from the person"})
        # Set as a person's typing would leave it (send_keys would add editor indentation).
        browser.execute_script("arguments[0].value = arguments[1]", box, edited)
        card.find_element("css selector", "input.remember").click()
        card.find_element("css selector", "input.rule").send_keys("Write(*.txt)")
        card.find_element("css selector", "button.allow").click()
        wait(browser, lambda d: "allowed" in card.text, "the allow being recorded")

    await look(edit_and_allow)
    (stream,) = (await harness.call("streams", name="main"))["streams"]
    await harness.poll_to_end(stream["stream_id"])
    assert await anyio.Path(asked).read_text() == "from the person"
    config = (await harness.call("get", name="main"))["session"]["config"]
    assert "Write(*.txt)" in config["allowed_tools"]


async def test_a_decision_is_made_once_however_many_pages_show_it(
    harness: Harness, ui: UI, asked: Path
) -> None:
    async with httpx.AsyncClient(
        base_url=ui.base, headers={"authorization": f"Bearer {ui.token}"}
    ) as client:
        pending: list[dict[str, object]] = []

        async def waiting() -> bool:
            pending[:] = (await client.get("/api/approvals")).json()
            return bool(pending)

        with anyio.fail_after(30):
            while not await waiting():  # noqa: ASYNC110 - the child asks in another process
                await anyio.sleep(0.05)
        page = (await client.get("/")).text
        csrf = page.split('name="csrf-token" content="')[1].split('"')[0]
        url = f"/api/approvals/{pending[0]['id']}"
        headers = {"x-csrf-token": csrf}
        first, second = (
            await client.post(url, json={"decision": "allow"}, headers=headers),
            await client.post(url, json={"decision": "deny"}, headers=headers),
        )
    assert first.status_code == 200
    assert first.json()["status"] == "allowed"
    assert second.status_code == 409
    assert "already" in second.text


async def test_a_request_without_the_token_is_refused(
    harness: Harness, ui: UI, tmp_path: Path
) -> None:
    async with httpx.AsyncClient(base_url=ui.base) as anonymous:
        assert (await anonymous.get("/")).status_code == 401
        assert (await anonymous.get("/api/sessions")).status_code == 401
        assert (await anonymous.get("/static/ui.js")).status_code == 401
        wrong = await anonymous.get("/api/sessions", headers={"authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert "session-tree ui" in wrong.text
        # Another name for 127.0.0.1 (DNS rebinding) is refused even with the token.
        rebound = await anonymous.get(
            "/api/sessions",
            headers={"authorization": f"Bearer {ui.token}", "host": "evil.example:80"},
        )
        assert rebound.status_code == 403
    async with httpx.AsyncClient(
        base_url=ui.base, headers={"authorization": f"Bearer {ui.token}"}
    ) as holder:
        assert (await holder.get("/api/sessions")).status_code == 200
        # A change without the page's CSRF token, or from another site, is refused.
        assert (
            await holder.post("/api/approvals/1", json={"decision": "allow"})
        ).status_code == 403
        page = (await holder.get("/")).text
        csrf = page.split('name="csrf-token" content="')[1].split('"')[0]
        cross = await holder.post(
            "/api/approvals/1",
            json={"decision": "allow"},
            headers={"x-csrf-token": csrf, "origin": "http://evil.example"},
        )
        assert cross.status_code == 403
        assert "access-control-allow-origin" not in cross.headers

    # In the browser too: a fresh profile without the token sees the refusal.
    with chromium(tmp_path / "stranger") as stranger:

        def refused() -> str:
            stranger.get(ui.base + "/")
            return str(stranger.find_element("css selector", "body").text)

        assert "No valid token" in await look(refused)


async def test_the_page_updates_live_while_a_turn_streams(
    harness: Harness, model: ScriptedModel, ui: UI, browser: WebDriver
) -> None:
    gate = threading.Event()
    model.push(text("first part. ", "second part.", gate=gate, gate_after_deltas=1))
    await harness.call("create", name="main")

    def sessions_page() -> None:
        browser.get(ui.base + "/")
        wait(browser, lambda d: css(d, 'tr[data-session="main"]'), "main in the list")

    await look(sessions_page)
    started = await harness.call("chat_async", name="main", prompt="talk slowly")

    def row_status() -> str:
        def running(d: WebDriver) -> str | None:
            row = d.find_element("css selector", 'tr[data-session="main"]').text
            return row if "running" in row else None

        return wait(browser, running, "the list showing main running, without a reload")

    assert "running" in await look(row_status)

    def first_part() -> str:
        browser.get(ui.base + "/s/main")

        def streamed(d: WebDriver) -> str | None:
            shown = css(d, ".live-text")[0].text
            return shown if "first part." in shown else None

        return wait(browser, streamed, "the first delta on the page")

    try:
        shown = await look(first_part)
        assert "second part." not in shown
        still = await harness.call("poll", stream_id=started["stream_id"], from_seq=0)
        assert still["status"] == "running"
    finally:
        gate.set()

    def ended() -> str:
        return wait(browser, lambda d: css(d, ".final-text"), "the final text")[0].text

    assert await look(ended) == "first part. second part."

    def tree_redrawn() -> str:
        def drawn(d: WebDriver) -> str | None:
            rows = " | ".join(r.text for r in css(d, "ol.rows li.row"))
            return rows if "first part. second part." in rows else None

        return wait(browser, drawn, "the tree drawn again with the turn's nodes")

    assert "◀ main" in await look(tree_redrawn)

    # A turn started after the page was opened shows up on it too.
    held = threading.Event()
    model.push(text("and again", gate=held, gate_after_deltas=0))
    second = await harness.call("chat_async", name="main", prompt="once more")
    live = f'section.live[data-stream="{second["stream_id"]}"]'

    def second_panel() -> bool:
        return bool(wait(browser, lambda d: css(d, live), "the second turn's panel"))

    try:
        assert await look(second_panel)
    finally:
        held.set()

    def second_turn() -> str:
        return wait(browser, lambda d: css(d, f"{live} .final-text"), "its final text")[0].text

    assert await look(second_turn) == "and again"
