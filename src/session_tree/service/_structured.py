"""Structured answers: the JSON Schema a chat asks for, and whether a reply met it.

Claude Code takes the schema as ``--json-schema`` and gives the model a
``StructuredOutput`` tool whose input is the schema; the call's input is the
answer (the result message's ``structured_output``). It validates the call and
tells the model what was wrong, and when the model ends its turn without a valid
call it says so once and then ends with prose and no object: that is a failed
turn here, never text passed off as data. The object is checked once more here,
so what chat returns meets the schema whatever Claude Code's version does.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema  # type: ignore[import-untyped]
from jsonschema.exceptions import SchemaError  # type: ignore[import-untyped]

from ..errors import InvalidArgument
from ..models import JSONObject

# A schema travels on claude's command line (one argument holds 128 KiB on Linux).
MAX_SCHEMA_CHARS = 64_000


def check_output_schema(schema: JSONObject) -> JSONObject:
    """``schema`` when it is a JSON Schema of an object, else InvalidArgument saying why."""
    try:
        validator = jsonschema.validators.validator_for(schema)
        validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(part) for part in exc.absolute_path) or "the top level"
        raise InvalidArgument(
            f"output_schema is not a valid JSON Schema (at {where}: {exc.message}); "
            'give one such as {"type": "object", "properties": {...}, "required": [...]}.'
        ) from exc
    if schema.get("type") != "object":
        raise InvalidArgument(
            'output_schema must describe an object ("type": "object" at the top level): '
            "the answer is the input of a tool call, which is always an object. Wrap a list "
            'or a value in a property, e.g. {"type": "object", "properties": {"items": ...}}.'
        )
    if len(json.dumps(schema)) > MAX_SCHEMA_CHARS:
        raise InvalidArgument(
            f"output_schema is longer than {MAX_SCHEMA_CHARS} characters as JSON; shorten it."
        )
    return schema


def structured_error(schema: JSONObject, answer: Any, reply: object) -> str | None:
    """Why ``answer`` (the result's structured_output) does not meet ``schema``, or None."""
    if answer is None:
        said = f" It answered: {str(reply)[:300]!r}." if reply else ""
        return (
            "The child's answer did not meet output_schema: it ended its turn without "
            "giving a valid object (the StructuredOutput tool)." + said
        )
    errors = sorted(
        jsonschema.validators.validator_for(schema)(schema).iter_errors(answer),
        key=lambda e: list(e.absolute_path),
    )
    if not errors:
        return None
    first = errors[0]
    where = "/".join(str(part) for part in first.absolute_path) or "the top level"
    return f"The child's answer did not meet output_schema at {where}: {first.message}"
