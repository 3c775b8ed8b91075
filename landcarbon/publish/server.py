"""The local preview server of ``landcarbon serve``: static files of one workspace, nothing
outside it.

A request whose path resolves outside the workspace (``..``, or a symbolic link pointing
elsewhere, e.g. ``ln -s / workspace/root``) is answered 404 and never read. The server
listens on 127.0.0.1 only.
"""

from __future__ import annotations

import errno
import functools
import http.server
import os
from pathlib import Path
from typing import Any

from landcarbon.exceptions import LandcarbonError

__all__ = ["WorkspaceHandler", "inside", "make_server"]


def inside(path: str | os.PathLike[str], root: str | os.PathLike[str]) -> bool:
    """Whether ``path``, with every symbolic link resolved, lies in ``root`` (resolved)."""
    real = Path(os.path.realpath(path))
    base = Path(os.path.realpath(root))
    return real == base or base in real.parents


class WorkspaceHandler(http.server.SimpleHTTPRequestHandler):
    """Static files of ``directory``; paths resolving outside it are not found."""

    def send_head(self) -> Any:
        """Refuse (404) a path that resolves outside the workspace, else serve it."""
        path = self.translate_path(self.path)
        if not inside(path, self.directory):
            self.send_error(404, "File not found")
            return None
        return super().send_head()


def make_server(workspace: str | os.PathLike[str], port: int
                ) -> http.server.ThreadingHTTPServer:
    """A server of ``workspace`` on 127.0.0.1:``port`` (0: any free port).

    Raises
    ------
    LandcarbonError
        The port is in use or may not be opened, naming the port and the fix.
    """
    handler = functools.partial(WorkspaceHandler, directory=str(Path(workspace).resolve()))
    try:
        return http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise LandcarbonError(
                f"Port {port} on 127.0.0.1 is already in use (another `landcarbon serve` or "
                f"web server). Stop that program, or choose another port: landcarbon serve "
                f"{workspace} --port {port + 1} (or --port 0 for any free port).") from None
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise LandcarbonError(
                f"Port {port} may not be opened by this user (ports below 1024 need "
                "administrator rights). Choose a port from 1024 up, e.g. --port 8000.") from None
        raise
