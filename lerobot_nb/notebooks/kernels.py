"""The kernel manager batch runs use: jupyter_client's, on IPC sockets instead of loopback TCP."""

from __future__ import annotations

from jupyter_client.manager import AsyncKernelManager
from traitlets import default

__all__ = ["IpcKernelManager"]


class IpcKernelManager(AsyncKernelManager):
    """`AsyncKernelManager` whose default transport is `ipc` (socket files in the runtime dir)."""

    @default("transport")
    def _default_transport(self) -> str:
        return "ipc"
