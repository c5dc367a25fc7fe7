"""The browser view (``session-tree ui``): the sessions, each tree drawn as a graph,
running turns as they stream, and an inbox of approvals to decide.

A front end like the MCP tools and the command line: it reads and decides
through the service's :class:`~session_tree.service.Supervisor`, never the
store, and runs beside any number of servers on the same database.
"""

from ._app import HOST, bind, build_app, serve_ui
from ._auth import Access
from ._graph import Graph, Row, layout

__all__ = ["HOST", "Access", "Graph", "Row", "bind", "build_app", "layout", "serve_ui"]
