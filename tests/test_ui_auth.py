"""The browser view's guard: the token, its cookie, the host, CSRF and the headers."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from session_tree.service import Settings, open_supervisor
from session_tree.web import Access, build_app

pytestmark = pytest.mark.anyio

PORT = 8765


@pytest.fixture
async def access() -> Access:
    return Access(port=PORT)


@pytest.fixture
async def client(tmp_path: Path, access: Access) -> AsyncIterator[httpx.AsyncClient]:
    async with open_supervisor(Settings(db_path=tmp_path / "st.db")) as supervisor:
        transport = httpx.ASGITransport(app=build_app(supervisor, access))
        async with httpx.AsyncClient(
            transport=transport, base_url=f"http://127.0.0.1:{PORT}"
        ) as http:
            yield http


async def test_the_token_becomes_a_cookie_and_leaves_the_address(
    client: httpx.AsyncClient, access: Access
) -> None:
    first = await client.get(f"/?order=name&token={access.token}")

    assert first.status_code == 303
    assert first.headers["location"] == "/?order=name"
    cookie = first.headers["set-cookie"]
    assert cookie.startswith(f"{access.cookie}={access.token};")
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    page = await client.get("/?order=name", headers={"cookie": f"{access.cookie}={access.token}"})
    assert page.status_code == 200
    assert access.csrf in page.text


async def test_the_token_redirect_stays_on_this_server(
    client: httpx.AsyncClient, access: Access
) -> None:
    for path, kept in (("//attacker.example/x", "/attacker.example/x"), ("/s/a%0d%0ab", None)):
        answer = await client.get(f"http://127.0.0.1:{PORT}{path}?token={access.token}")

        assert answer.status_code == 303, path
        location = answer.headers["location"]
        assert location.startswith("/"), location
        assert not location.startswith("//"), location
        assert "\r" not in location
        assert "\n" not in location
        if kept is not None:
            assert location == kept


async def test_no_token_or_a_wrong_one_is_refused(
    client: httpx.AsyncClient, access: Access
) -> None:
    assert (await client.get("/")).status_code == 401
    assert (await client.get("/", headers={"cookie": f"{access.cookie}=guess"})).status_code == 401
    # Another ui's cookie (another port) is not this one's.
    assert (
        await client.get("/", headers={"cookie": f"session_tree_ui_1={access.token}"})
    ).status_code == 401
    assert (await client.get(f"/?token={access.token}x")).status_code == 401
    refused = await client.get("/inbox/events")
    assert refused.status_code == 401
    assert "session-tree ui" in refused.text


async def test_only_this_servers_host_names_are_answered(
    client: httpx.AsyncClient, access: Access
) -> None:
    bearer = {"authorization": f"Bearer {access.token}"}
    for host in (f"localhost:{PORT}", f"127.0.0.1:{PORT}"):
        assert (
            await client.get("/api/sessions", headers={**bearer, "host": host})
        ).status_code == 200
    for host in ("attacker.example", f"127.0.0.1:{PORT + 1}", "127.0.0.1"):
        answer = await client.get("/api/sessions", headers={**bearer, "host": host})
        assert answer.status_code == 403, host


async def test_a_change_needs_the_pages_csrf_token_and_this_origin(
    client: httpx.AsyncClient, access: Access
) -> None:
    bearer = {"authorization": f"Bearer {access.token}"}
    decide = "/api/approvals/1"
    body = {"decision": "allow"}
    assert (await client.post(decide, json=body, headers=bearer)).status_code == 403
    wrong = {**bearer, "x-csrf-token": "0" * 64}
    assert (await client.post(decide, json=body, headers=wrong)).status_code == 403
    good = {**bearer, "x-csrf-token": access.csrf}
    for hostile in (
        {"origin": "http://attacker.example"},
        {"origin": f"http://127.0.0.1:{PORT + 1}"},
        {"sec-fetch-site": "cross-site"},
    ):
        answer = await client.post(decide, json=body, headers={**good, **hostile})
        assert answer.status_code == 403, hostile
    # Through the guard: no approval 1 in an empty database.
    passed = await client.post(
        decide, json=body, headers={**good, "origin": f"http://127.0.0.1:{PORT}"}
    )
    assert passed.status_code == 404
    assert "approval" in passed.text.lower()


async def test_a_bad_decision_says_what_to_send(client: httpx.AsyncClient, access: Access) -> None:
    headers = {"authorization": f"Bearer {access.token}", "x-csrf-token": access.csrf}
    answer = await client.post("/api/approvals/1", json={"decision": "maybe"}, headers=headers)
    assert answer.status_code == 400
    assert "decision (allow or deny)" in answer.text


async def test_no_response_allows_other_origins_or_framing(
    client: httpx.AsyncClient, access: Access
) -> None:
    page = await client.get(
        "/", headers={"authorization": f"Bearer {access.token}", "origin": "http://x.example"}
    )
    assert "access-control-allow-origin" not in page.headers
    assert page.headers["x-frame-options"] == "DENY"
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'self'
    assert "default-src 'self'" in page.headers["content-security-policy"]
    asset = await client.get("/static/ui.js", headers={"authorization": f"Bearer {access.token}"})
    assert asset.status_code == 200
    assert "EventSource" in asset.text


async def test_every_asset_comes_from_this_server(
    client: httpx.AsyncClient, access: Access
) -> None:
    bearer = {"authorization": f"Bearer {access.token}"}
    for path in ("/", "/inbox"):
        page = (await client.get(path, headers=bearer)).text
        links = re.findall(r'(?:src|href)="([^"]*)"', page)
        assert links
        assert [link for link in links if not link.startswith("/")] == [], path
