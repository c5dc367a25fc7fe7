"""Budgets: ``max_cost_usd`` caps what a session and every fork below it spend together.

A fork copies its origin's config, budget included, and stays inside its
origin's budget as well: a turn of a session falls inside the budget of the
session itself and of each origin up its fork chain that has one, each over
that origin's subtree (as list and tree count it: its own usage and its
forks'). A turn starts only while every one of them has money left; the child
is then given the least of what is left (Claude Code's ``--max-budget-usd``),
so a turn that crosses it is stopped by the child itself, and the runner ends
it with the budget named.

Spending is what finished turns recorded (a turn's cost arrives with its
result), so a turn that starts with a cent left may end some cents over; the
next one is refused. What a deleted fork spent leaves the sums with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import BudgetExceeded
from ..models import Session, SessionConfig
from ..store import Store
from ._search import subtree_usage


@dataclass(frozen=True)
class Budget:
    """One budget a session's turns fall inside: where it is set, its cap, what is spent."""

    session: str
    limit: float
    spent: float

    @property
    def left(self) -> float:
        return self.limit - self.spent


async def budgets_over(store: Store, session: Session) -> list[Budget]:
    """Every budget ``session``'s turns fall inside: its own and its origins', nearest first."""
    if session.forked_from is None and session.config.max_cost_usd is None:
        return []  # no budget of its own and no origin: nothing to read (every turn start asks)
    tree = [a.session for a in await store.sessions.overview(tree_id=session.tree_id)]
    by_name = {s.name: s for s in tree}
    totals = subtree_usage(tree)
    found: list[Budget] = []
    seen: set[int] = set()
    current: Session | None = by_name.get(session.name, session)
    while current is not None and current.id not in seen:
        seen.add(current.id)
        limit = current.config.max_cost_usd
        if limit is not None:
            spent = totals.get(current.id, current.usage).cost_usd
            found.append(Budget(current.name, limit, spent))
        current = by_name.get(current.forked_from) if current.forked_from else None
    return found


async def check_budget(store: Store, session: Session) -> Budget | None:
    """The tightest budget over ``session``, or None; :class:`BudgetExceeded` when one
    is spent (checked before a turn stores anything)."""
    budgets = await budgets_over(store, session)
    if not budgets:
        return None
    tightest = min(budgets, key=lambda b: b.left)
    if tightest.left <= 0:
        raise BudgetExceeded(session.name, tightest.session, tightest.spent, tightest.limit)
    return tightest


async def child_config(store: Store, session: Session) -> SessionConfig:
    """The config a new child of ``session`` starts with: its budget is what is left
    of the tightest one over it, which the child stops itself at (per child process;
    what the rest of the subtree spends meanwhile is checked at each turn's start)."""
    budgets = await budgets_over(store, session)
    if not budgets:
        return session.config
    left = max(min(b.left for b in budgets), 0.0001)
    return session.config.model_copy(update={"max_cost_usd": left})


async def budget_error(store: Store, name: str, turn_cost: float) -> str | None:
    """Why a turn the child stopped at its budget failed: whose budget, spent with
    ``turn_cost`` (not recorded yet), of how much; None if no budget is over it now."""
    session = await store.sessions.get(name)
    budgets = await budgets_over(store, session)
    if not budgets:
        return None
    tightest = min(budgets, key=lambda b: b.left)
    return str(BudgetExceeded(name, tightest.session, tightest.spent + turn_cost, tightest.limit))


__all__ = ["Budget", "budget_error", "budgets_over", "check_budget", "child_config"]
