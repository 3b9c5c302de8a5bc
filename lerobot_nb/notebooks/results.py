"""Key results a notebook records (episode count, frames, verdict) and reads back from the executed file.

`record_result` displays one output with the MIME type `RESULT_MIME` (JSON) next to a plain-text
line, so the executed `.ipynb` carries the value and a human sees it; `read_results` collects them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from lerobot_nb.errors import LerobotNbError

__all__ = ["RESULT_MIME", "read_results", "record_result", "to_jsonable"]

#: The output MIME type a recorded result is stored under in the executed notebook.
RESULT_MIME = "application/vnd.lerobot-nb.result+json"


def to_jsonable(value: Any) -> Any:
    """`value` as plain JSON types: numpy scalars/arrays, tuples, Paths and polars frames included.

    Non-finite floats become None (JSON has no NaN). Anything else unknown is an error, so a
    test never reads back a lossy `str(obj)`.
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    to_dicts = getattr(value, "to_dicts", None)  # polars DataFrame: a list of row dicts
    if callable(to_dicts):
        return to_jsonable(to_dicts())
    raise TypeError(f"record_result: {type(value).__name__} is not JSON-able")


def record_result(key: str, value: Any) -> Any:
    """Record `key = value` in the running notebook's output; returns the JSON-able value.

    The same key recorded twice keeps the last value (`read_results` reads in cell order).
    Outside IPython the plain-text line is printed.
    """
    data = to_jsonable(value)
    text = f"{key} = {json.dumps(data)}"
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython is a dependency of jupyterlab
        print(text)
        return data
    if get_ipython() is None:
        print(text)
    else:
        display({RESULT_MIME: {key: data}, "text/plain": text}, raw=True)
    return data


def read_results(ipynb: str | Path) -> dict[str, Any]:
    """All results recorded in an executed notebook, `{key: value}`, later outputs winning."""
    path = Path(ipynb)
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LerobotNbError(f"cannot read executed notebook ({exc})", file=path) from None
    results: dict[str, Any] = {}
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []):
            payload = output.get("data", {}).get(RESULT_MIME)
            if isinstance(payload, str):  # some writers store JSON MIME data as text
                payload = json.loads(payload)
            if isinstance(payload, dict):
                results.update(payload)
    return results
