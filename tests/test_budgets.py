"""Which budgets a session's turns fall inside, and when one refuses a turn."""

from __future__ import annotations

import pytest

from session_tree.errors import BudgetExceeded
from session_tree.models import Usage
from session_tree.service._budgets import budgets_over, check_budget
from session_tree.store import Store

pytestmark = pytest.mark.anyio


def spent(usd: float) -> Usage:
    return Usage(cost_usd=usd, turns=1)


async def test_a_fork_falls_inside_its_own_budget_and_every_origins(store: Store) -> None:
    await store.sessions.create("root")
    await store.sessions.update_config("root", {"max_cost_usd": 1.0})
    await store.sessions.fork("root", "mid")
    await store.sessions.update_config("mid", {"max_cost_usd": 5.0})
    leaf = await store.sessions.fork("mid", "leaf")
    await store.sessions.add_usage("leaf", spent(0.25))
    await store.sessions.add_usage("root", spent(0.5))

    budgets = await budgets_over(store, leaf)

    assert [(b.session, b.limit, b.spent) for b in budgets] == [
        ("leaf", 5.0, 0.25),  # copied from mid at the fork: its own subtree
        ("mid", 5.0, 0.25),
        ("root", 1.0, 0.75),
    ]
    tightest = await check_budget(store, leaf)
    assert tightest is not None
    assert tightest.session == "root"
    assert tightest.left == pytest.approx(0.25)


async def test_a_spent_budget_refuses_with_what_was_spent(store: Store) -> None:
    await store.sessions.create("root")
    await store.sessions.update_config("root", {"max_cost_usd": 1.0})
    fork = await store.sessions.fork("root", "exp")
    await store.sessions.update_config("exp", {"max_cost_usd": None})
    await store.sessions.add_usage("exp", spent(1.25))

    with pytest.raises(BudgetExceeded) as refused:
        await check_budget(store, fork)

    assert (refused.value.budget_session, refused.value.spent) == ("root", 1.25)
    assert "$1.2500 of $1.0000" in str(refused.value)
    assert "'root', which 'exp' was forked from" in str(refused.value)


async def test_a_session_without_a_budget_is_never_refused(store: Store) -> None:
    session = await store.sessions.create("free")
    await store.sessions.add_usage("free", spent(1000.0))
    assert await check_budget(store, session) is None
