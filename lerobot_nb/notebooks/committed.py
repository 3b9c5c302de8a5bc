"""What a committed notebook must look like: no outputs, kernel `python3`, a first `parameters` cell.

Outputs in git make diffs unreadable and can leak paths and data; a kernel other than `python3`
breaks `papermill -k python3` and JupyterLab on a fresh install; papermill injects parameters
after the cell tagged `parameters`, so that cell must come first and declare every input.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

__all__ = ["REQUIRED_PARAMETERS", "notebook_problems", "strip_outputs"]

_SOURCE = ("recordings", "server_url", "dataset_name", "index")
_STREAMS = ("fps", "action_path", "state_path", "task_path", "image", "episodes")
#: The inputs each notebook's parameters cell must declare (every input, one name everywhere).
REQUIRED_PARAMETERS: dict[str, tuple[str, ...]] = {
    "01_inspect": (*_SOURCE, "interactive"),
    "02_align": (*_SOURCE, *_STREAMS, "interactive"),
    "03_hand_pose": (*_SOURCE, *_STREAMS, "camera", "backend", "interactive"),
    "04_export": (*_SOURCE, *_STREAMS, "feature_map", "output", "overwrite", "interactive"),
    "05_validate": ("output", "interactive"),
    "06_train_prep": (
        "datasets",
        "embodiment",
        "output",
        "horizon",
        "action_mode",
        "normalization",
        "steps",
        "interactive",
    ),
    "07_curate": (*_SOURCE, *_STREAMS, "output", "curation", "interactive"),
}
_ASSIGNMENT = re.compile(r"^([A-Za-z_]\w*)\s*(?::[^=]*)?=")


def _source(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def notebook_problems(path: str | Path, *, required: tuple[str, ...] | None = None) -> list[str]:
    """Every way `path` breaks the rules above, one line each (empty: the notebook is fine).

    `required` defaults to `REQUIRED_PARAMETERS[<file stem>]` (just `interactive` for others).
    """
    import papermill

    p = Path(path)
    if required is None:
        required = REQUIRED_PARAMETERS.get(p.stem, ("interactive",))
    nb = json.loads(p.read_text(encoding="utf-8"))
    problems: list[str] = []
    kernel = nb.get("metadata", {}).get("kernelspec", {}).get("name")
    if kernel != "python3":
        problems.append(f"{p.name}: kernelspec is {kernel!r}, not 'python3'")
    if "widgets" in nb.get("metadata", {}):
        problems.append(f"{p.name}: saved widget state in the metadata")
    if "papermill" in nb.get("metadata", {}):
        problems.append(f"{p.name}: papermill metadata (an executed copy, not the source)")
    code = [(i, c) for i, c in enumerate(nb.get("cells", [])) if c.get("cell_type") == "code"]
    for i, cell in code:
        if cell.get("outputs"):
            problems.append(f"{p.name}: cell {i} has outputs")
        if cell.get("execution_count") is not None:
            problems.append(f"{p.name}: cell {i} has an execution count")
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            problems.append(f"{p.name}: cell {i} holds papermill's injected parameters")
    if not code:
        problems.append(f"{p.name}: no code cells")
    elif "parameters" not in code[0][1].get("metadata", {}).get("tags", []):
        problems.append(f"{p.name}: the first code cell is not tagged 'parameters'")
    else:
        declared = papermill.inspect_notebook(str(p))
        missing = [name for name in required if name not in declared]
        if missing:
            problems.append(f"{p.name}: the parameters cell does not declare {', '.join(missing)}")
        # papermill silently skips a line it cannot parse (e.g. `=` inside a comment): that
        # parameter would then be invisible to `notebooks list` and the runner's name check.
        assigned = [m.group(1) for line in _source(code[0][1]).splitlines() if (m := _ASSIGNMENT.match(line))]
        unparsed = [name for name in assigned if name not in declared]
        if unparsed:
            problems.append(
                f"{p.name}: papermill cannot parse the parameter line(s) of {', '.join(unparsed)}"
            )
    return problems


def strip_outputs(path: str | Path) -> bool:
    """Remove outputs, execution counts and widget state in place; True when the file changed."""
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    nb = json.loads(text)
    nb.get("metadata", {}).pop("widgets", None)
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    new = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    if new == text:
        return False
    p.write_text(new, encoding="utf-8")
    return True
