"""msgpack with numpy arrays, as spoken by HaMeR's websocket policy server (openpi / webpolicy style).

An array travels as the map `{b"__ndarray__": True, b"data": raw bytes, b"dtype": dtype.str,
b"shape": [...]}`, a numpy scalar as `{b"__npgeneric__": True, b"data": value, b"dtype": str}`.
Object, void and complex arrays are refused (they would need pickle).
"""

from __future__ import annotations

from typing import Any

import msgpack
import numpy as np

__all__ = ["packb", "unpackb"]


def _encode(obj: Any) -> Any:
    if isinstance(obj, np.ndarray | np.generic) and obj.dtype.kind in "VOc":
        raise TypeError(f"cannot send numpy dtype {obj.dtype} over msgpack")
    if isinstance(obj, np.ndarray):
        arr = np.ascontiguousarray(obj)
        return {
            b"__ndarray__": True,
            b"data": arr.tobytes(),
            b"dtype": arr.dtype.str,
            b"shape": list(arr.shape),
        }
    if isinstance(obj, np.generic):
        return {b"__npgeneric__": True, b"data": obj.item(), b"dtype": obj.dtype.str}
    return obj


def _decode(obj: dict[Any, Any]) -> Any:
    if b"__ndarray__" in obj:
        return np.ndarray(buffer=obj[b"data"], dtype=np.dtype(obj[b"dtype"]), shape=tuple(obj[b"shape"]))
    if b"__npgeneric__" in obj:
        return np.dtype(obj[b"dtype"]).type(obj[b"data"])
    return obj


def packb(obj: Any) -> bytes:
    """Serialize dicts/lists/scalars/strings and numpy arrays."""
    out: bytes = msgpack.packb(obj, default=_encode, use_bin_type=True)
    return out


def unpackb(data: bytes) -> Any:
    """Inverse of `packb`; arrays come back read-only views of the message bytes."""
    return msgpack.unpackb(data, object_hook=_decode, raw=False, strict_map_key=False)
