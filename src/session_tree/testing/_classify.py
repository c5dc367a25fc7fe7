"""Telling the child's main conversation from Claude Code's side requests.

Only conversation requests consume the script; the rest get canned answers,
so a test's script does not shift when claude decides to name a session.

What claude 2.1.329 sends besides the conversation (observed):

- `HEAD /api/hello`: a connectivity probe before the first model call.
  Suppressed by `CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1`.
- Session-title generation, alongside the first prompt (again with later
  prompts while the answer is not valid JSON): `POST /v1/messages` on the main model with
  `tools: []`, no `thinking`, and structured output
  (`output_config.format` = JSON schema `{"title": string}`); the system
  prompt begins "You are naming a coding session". Also suppressed by the
  nonessential-traffic switch. Seen only from the Agent SDK's child
  (`CLAUDE_CODE_ENTRYPOINT=sdk-py`) and only for prompts that are not very
  short ("hi" and "name me" got no title).
- Compaction (`/compact`, or auto-compact near the context limit): a copy of
  the conversation request (same system prompt, tools and thinking) whose
  last user message asks to "create a detailed summary of the conversation
  so far". Not suppressed by any switch.

The rules, first match wins:

1. not POST, or a path other than `/v1/messages[/count_tokens]`: OTHER;
2. `/v1/messages/count_tokens`: COUNT_TOKENS;
3. structured output (`output_config.format`) whose schema has a `title`
   property, or a system prompt with a known title marker: TITLE. The main
   loop never uses `output_config.format`: `--json-schema` is implemented
   with a `StructuredOutput` tool instead;
4. any other structured output, a known side-query marker in the system
   prompt, or `max_tokens == 1` (a quota probe): SIDE;
5. a last user message with the compaction marker: COMPACT;
6. everything else: CONVERSATION, including subagents (the Task tool) and
   requests with `tools: []` (claude run with `--tools ""`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ._recording import RecordedRequest, RequestKind, system_text
from ._replies import MessageReply, TextBlock

MESSAGES_PATH = "/v1/messages"
COUNT_TOKENS_PATH = "/v1/messages/count_tokens"

TITLE_MARKERS = ("You are naming a coding session",)
SIDE_MARKERS: tuple[str, ...] = ()
COMPACT_MARKERS = ("create a detailed summary of the conversation so far",)


def _output_schema(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    config = body.get("output_config")
    if not isinstance(config, dict):
        return None
    fmt = config.get("format")
    if not isinstance(fmt, dict):
        return None
    schema = fmt.get("schema")
    return schema if isinstance(schema, dict) else {}


def classify(method: str, path: str, body: Any) -> RequestKind:
    """The kind of one request, by the rules in this module's docstring."""
    if method != "POST":
        return RequestKind.OTHER
    if path == COUNT_TOKENS_PATH:
        return RequestKind.COUNT_TOKENS
    if path != MESSAGES_PATH:
        return RequestKind.OTHER
    fields: Mapping[str, Any] = body if isinstance(body, dict) else {}
    system = system_text(fields)
    schema = _output_schema(fields)
    properties = schema.get("properties") if schema is not None else None
    if (isinstance(properties, dict) and "title" in properties) or any(
        marker in system for marker in TITLE_MARKERS
    ):
        return RequestKind.TITLE
    if (
        schema is not None
        or any(marker in system for marker in SIDE_MARKERS)
        or fields.get("max_tokens") == 1
    ):
        return RequestKind.SIDE
    if any(marker in _last_user_text(fields) for marker in COMPACT_MARKERS):
        return RequestKind.COMPACT
    return RequestKind.CONVERSATION


def _last_user_text(body: Mapping[str, Any]) -> str:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return ""
    last = messages[-1]
    if not isinstance(last, dict) or last.get("role") != "user":
        return ""
    content = last.get("content")
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    return "\n".join(str(block.get("text", "")) for block in content if isinstance(block, dict))


def example_for(schema: Any) -> Any:
    """A small value valid for a (simple) JSON schema: what a side query expects."""
    if not isinstance(schema, dict):
        return None
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for combinator in ("anyOf", "oneOf", "allOf"):
        options = schema.get(combinator)
        if isinstance(options, list) and options:
            return example_for(options[0])
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties")
        items = properties.items() if isinstance(properties, dict) else ()
        return {name: example_for(sub) for name, sub in items}
    if kind == "array":
        count = schema.get("minItems", 0)
        return [example_for(schema.get("items"))] * (count if isinstance(count, int) else 0)
    scalars: dict[str, Any] = {"string": "scripted", "integer": 0, "number": 0, "boolean": False}
    return scalars.get(str(kind))


def side_reply(request: RecordedRequest) -> MessageReply:
    """The canned answer to a TITLE, COMPACT or SIDE request."""
    schema = _output_schema(request.json)
    if request.kind is RequestKind.TITLE:
        answer = json.dumps({"title": "Scripted session"})
    elif request.kind is RequestKind.COMPACT:
        answer = "<analysis>scripted</analysis>\n<summary>Scripted summary.</summary>"
    elif schema is not None:
        answer = json.dumps(example_for(schema))
    else:
        answer = "ok"
    return MessageReply(content=(TextBlock((answer,)),))
