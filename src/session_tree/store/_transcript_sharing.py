"""How a transcript's copy of another's history is told apart from the original.

When Claude Code resumes a session into a new one (a fork, or a cold resume,
which forks too), the new transcript repeats the history entry by entry, with
the same uuids, and a few top-level fields rewritten: its own ``sessionId``,
one ``promptId`` for every user entry, a ``requestSessionId`` added to each
assistant entry naming the session that made the request. :func:`match`
learns such rewrites as :class:`Rules` from the copy itself (nothing here
names Claude's fields) and says how many entries they reproduce exactly, byte
for byte in their JSON, so the copy can be stored as (base, count, rules).

Two kinds of rule, applied to each entry of the base in turn:

- ``set``: ``{key: value}``, where the base entry has ``key``, its value
  becomes ``value`` (in place, so the keys keep their order);
- ``add``: ``{key: [source, types]}``, where the base entry has no ``key``,
  has ``source`` and its ``type`` is one of ``types``, ``key`` is added at the
  end with the base entry's ``source`` value.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from typing import Any, TypedDict

Entry = dict[str, Any]

# Learning stops after this many rule changes: a copy that needs more is not
# one this scheme explains, and what it does not cover is stored in full.
_MAX_RULE_CHANGES = 8


class Rules(TypedDict):
    set: dict[str, Any]
    add: dict[str, list[Any]]


def no_rules() -> Rules:
    return {"set": {}, "add": {}}


def parse_rules(text: str | None) -> Rules:
    if not text:
        return no_rules()
    value = json.loads(text)
    return {"set": dict(value.get("set", {})), "add": dict(value.get("add", {}))}


def apply(rules: Rules, base: Entry) -> Entry:
    """The entry a copy holds where the base holds ``base``."""
    entry = dict(base)
    for key, value in rules["set"].items():
        if key in entry:
            entry[key] = (
                value if isinstance(value, str | int | float | bool) else copy.deepcopy(value)
            )
    for key, (source, types) in rules["add"].items():
        if key not in entry and source in base and base.get("type") in types:
            entry[key] = copy.deepcopy(base[source])
    return entry


def match(base: Sequence[Entry], copied: Sequence[Entry]) -> tuple[int, Rules]:
    """How many of ``copied``, from its start, are ``base``'s entries under one set of
    rules, and those rules. Entries pair up by position and must carry the same uuid."""
    rules = no_rules()
    for _ in range(_MAX_RULE_CHANGES + 1):
        count, learned = _run(rules, base, copied)
        if learned is None:
            return count, rules
        rules = learned
    return _run(rules, base, copied, learn=False)[0], rules


def _run(
    rules: Rules, base: Sequence[Entry], copied: Sequence[Entry], *, learn: bool = True
) -> tuple[int, Rules | None]:
    """Entries reproduced from the start, or, at the first that is not, rules that would
    reproduce it too (None when none would or ``learn`` is off)."""
    for count, (original, entry) in enumerate(zip(base, copied, strict=False)):
        if original.get("uuid") != entry.get("uuid"):
            return count, None
        if _same(apply(rules, original), entry):
            continue
        if not learn:
            return count, None
        learned = _learn(rules, original, entry)
        return count, learned
    return min(len(base), len(copied)), None


def _same(a: Entry, b: Entry) -> bool:
    """Equal as JSON text: key order too, at every level."""
    return _dumps(a) == _dumps(b)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _learn(rules: Rules, original: Entry, entry: Entry) -> Rules | None:
    """``rules`` extended so that ``original`` maps to ``entry``, if rules can say it."""
    before = list(original)
    after = list(entry)
    if after[: len(before)] != before:
        return None  # a key dropped or moved: not a rewrite these rules express
    learned: Rules = {
        "set": dict(rules["set"]),
        "add": {k: list(v) for k, v in rules["add"].items()},
    }
    for key in before:
        if _dumps(original[key]) == _dumps(entry[key]):
            continue
        if key in learned["set"] and _dumps(learned["set"][key]) != _dumps(entry[key]):
            return None
        learned["set"][key] = entry[key]
    for key in after[len(before) :]:
        source = next(
            (s for s in before if s != key and _dumps(original[s]) == _dumps(entry[key])), None
        )
        if source is None:
            return None
        kind = original.get("type")
        if key in learned["add"]:
            if learned["add"][key][0] != source:
                return None
            if kind not in learned["add"][key][1]:
                learned["add"][key] = [source, [*learned["add"][key][1], kind]]
        else:
            learned["add"][key] = [source, [kind]]
    if list(learned["add"]) != [k for k in learned["add"] if k in after] + [
        k for k in learned["add"] if k not in after
    ]:
        return None
    if learned == rules or not _same(apply(learned, original), entry):
        return None
    return learned
