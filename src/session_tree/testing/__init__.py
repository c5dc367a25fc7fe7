"""A scripted Anthropic Messages API, for testing orchestrations of Claude Code offline.

`ScriptedModel` serves `POST /v1/messages` (streaming SSE and plain JSON) on
127.0.0.1, on an ephemeral port, from background threads. Point a real
`claude` at it with `child_env`, script what "the model" answers, and assert
on exactly what the child sent::

    import subprocess
    from session_tree.testing import ScriptedModel, child_env, text, tool_use, transcript

    with ScriptedModel([tool_use("Bash", {"command": "echo hi"}), text("done")]) as model:
        subprocess.run(
            ["claude", "-p", "say hi", "--output-format", "stream-json", "--verbose",
             "--allowedTools", "Bash"],
            env=child_env(model, home=tmp_path, inherit=True),
            stdin=subprocess.DEVNULL, capture_output=True, timeout=60, check=True,
        )
        first, second = model.conversation_requests()
        assert transcript(second)[-1] == ("user", ["[tool_result hi]"])

Replies, in order of use: the script (a FIFO given to the constructor or
`push`), then `responder(request)` when set (return None to pass), then the
default `text("ok: <last user text>")`. Only the main conversation consumes
them: session titles, token counts and probes get canned answers (see
`classify`). Replies can stream in parts with a delay, hold on a
`threading.Event` (`gate`), cut the connection or send an `error` event
mid-stream, or be an HTTP error with the API's JSON body.

Run standalone with `python -m session_tree.testing --port 0`: it prints its
base URL on one line and serves until stdin closes or SIGTERM.
"""

from ._classify import classify
from ._env import child_env
from ._recording import RecordedRequest, RequestKind
from ._replies import (
    Block,
    HttpErrorReply,
    MessageReply,
    Reply,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
    auth_error,
    cut_stream,
    http_error,
    message,
    overloaded,
    server_error,
    stream_error,
    text,
    thinking,
    tool_use,
)
from ._server import Classifier, Responder, ScriptedModel
from ._transcript import last_user_text, transcript

__all__ = [
    "Block",
    "Classifier",
    "HttpErrorReply",
    "MessageReply",
    "RecordedRequest",
    "Reply",
    "RequestKind",
    "Responder",
    "ScriptedModel",
    "TextBlock",
    "ThinkingBlock",
    "ToolUseBlock",
    "auth_error",
    "child_env",
    "classify",
    "cut_stream",
    "http_error",
    "last_user_text",
    "message",
    "overloaded",
    "server_error",
    "stream_error",
    "text",
    "thinking",
    "tool_use",
    "transcript",
]
