"""Keep encoders off real-time scheduling.

SVT-AV1 (libsvtav1), when it may, moves the thread that opens an encoder and every thread it
starts to SCHED_FIFO priority 99. As root (containers, CI) it may: that thread, and every process
it starts afterwards (a Jupyter kernel, Chromium, a training run), then runs real-time and, on a
busy machine, starves the others, up to a machine that looks hung. Dropping CAP_SYS_NICE from the
calling thread's effective capabilities makes SVT-AV1's request fail (it then encodes as usual);
threads and processes started later by that thread inherit the drop.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import sys

__all__ = ["forbid_realtime_scheduling"]

_CAP_SYS_NICE = 23
_CAPABILITY_VERSION_3 = 0x20080522


class _Header(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _Data(ctypes.Structure):
    _fields_ = (
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    )


@functools.cache
def _libc() -> ctypes.CDLL:
    """The C library (once: `find_library` runs `ldconfig`, and every encoder asks)."""
    return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def forbid_realtime_scheduling() -> bool:
    """Put the calling thread back on normal scheduling if it inherited a real-time policy, and drop
    CAP_SYS_NICE from its effective set (it stays permitted, so a program that wants real-time
    scheduling can raise it again); True when the capability was dropped or absent."""
    if not sys.platform.startswith("linux"):
        return True
    if os.sched_getscheduler(0) in (os.SCHED_FIFO, os.SCHED_RR):
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    libc = _libc()
    header = _Header(_CAPABILITY_VERSION_3, 0)  # pid 0: this thread
    data = (_Data * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        return False
    bit = 1 << _CAP_SYS_NICE
    if not data[0].effective & bit:
        return True
    data[0].effective &= ~bit
    return bool(libc.capset(ctypes.byref(header), data) == 0)
