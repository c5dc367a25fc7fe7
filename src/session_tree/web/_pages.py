"""Templates (package data under ``templates/``) and the filters they use."""

from __future__ import annotations

import json
import time
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from ..node_labels import NODE_LABELS
from ._auth import Access
from ._graph import SIDE

ROW_PX = 22
LANE_PX = 16


def _ago(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    seconds = max(0, int(time.time() - timestamp))
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


class Pages:
    def __init__(self, access: Access) -> None:
        self.env = Environment(
            loader=PackageLoader("session_tree.web", "templates"),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters |= {"ago": _ago, "pretty": _pretty}
        self.env.globals |= {
            "csrf": access.csrf,
            "label": NODE_LABELS,
            "side": SIDE,
            "row_px": ROW_PX,
            "lane_px": LANE_PX,
        }

    def render(self, template: str, **context: Any) -> str:
        return self.env.get_template(template).render(**context)
