"""What can reach Claude Code intact: the checks every config value passes.

Every value of a session's config reaches Claude Code on its command line, in its
environment or in a file it parses, so what cannot travel there is refused when the
config is built (create, configure, fork). A config read back from the database
(context :data:`STORED`) is only resolved, never refused.
"""

from __future__ import annotations

import re

from pydantic import ValidationInfo
from pydantic_core import PydanticCustomError

# Pass as the validation context when reading a stored config back.
STORED = {"stored": True}


def stored(info: ValidationInfo) -> bool:
    return isinstance(info.context, dict) and bool(info.context.get("stored"))


def check_text(text: str, what: str, info: ValidationInfo, *, one_line: bool) -> None:
    """Refuse a character that cannot reach Claude Code intact: NUL ends a C string
    (argv, environment), a lone surrogate has no UTF-8 form, and a one-line value
    (a rule, a model name) holds no control characters."""
    if stored(info):
        return
    found = (_NOT_ON_ONE_LINE if one_line else _NOT_IN_TEXT).search(text)
    if found is None:
        return
    char, index = found.group(), found.start()
    if char == "\x00":
        problem, why = "a NUL character (\\x00)", "it would end the text there"
    elif 0xD800 <= ord(char) <= 0xDFFF:
        problem, why = f"a lone surrogate (\\u{ord(char):04x})", "it has no UTF-8 form"
    else:
        problem, why = f"a control character ({char!r})", "it must be one line"
    raise PydanticCustomError(
        "unsendable_text",
        "{what}holds {problem} at character {index}, which cannot be passed to Claude Code "
        "({why}): remove it",
        {"what": what, "problem": problem, "index": index, "why": why},
    )


def check_env(env: dict[str, str], info: ValidationInfo) -> dict[str, str]:
    for key, value in env.items():
        check_text(key, f"the name {key[:40]!r} ", info, one_line=True)
        if not stored(info) and (not key or "=" in key):
            raise PydanticCustomError(
                "env_name",
                "has the name {key}: a name is not empty and has no '='",
                {"key": repr(key[:40])},
            )
        check_text(value, f"variable {key[:40]} ", info, one_line=False)
    return env


def check_lines(items: list[str] | None, info: ValidationInfo) -> list[str] | None:
    for number, item in enumerate(items or []):
        check_text(item, f"item {number} ", info, one_line=True)
    return items


# NUL and lone surrogates anywhere; on one line, also the C0 and C1 controls.
_NOT_IN_TEXT = re.compile(r"[\x00\ud800-\udfff]")
_NOT_ON_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
