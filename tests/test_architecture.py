"""The folder layout is the data flow: no module imports a later step, and there are no import cycles.

Read from the source (every `import`, also those inside functions), not from what happens to be
loaded, so a lazy import against the flow fails here too.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import lerobot_nb

PACKAGE = Path(lerobot_nb.__file__).parent

#: Each top-level module or package of `lerobot_nb`, by its place in the data flow (lower first).
LAYERS: dict[str, int] = {
    **dict.fromkeys(
        [
            "errors",
            "config",
            "units",
            "codecs",
            "tables",
            "columns",
            "offline",
            "episode",
            "frames",
            "stats",
            "lerobot_v3",
        ],
        0,
    ),
    "sources": 1,
    "query": 2,
    "server": 2,
    "inspect": 3,
    "align": 4,
    "enrich": 5,
    "export": 6,
    "validate": 7,
    "dataset": 8,
    "curate": 9,
    "prepare": 9,
    "hub": 10,
    "executors": 12,
    "pipeline": 11,
    **dict.fromkeys(["notebooks", "cli", "lrbt", "inspection", "__init__"], 12),
}
#: Allowed exceptions, each with its reason.
ALLOWED: dict[tuple[str, str], str] = {}


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports() -> dict[str, set[str]]:
    """Module -> the `lerobot_nb` modules it imports (anywhere in its source)."""
    out: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            out[name] |= {t for t in targets if t.startswith("lerobot_nb.") or t == "lerobot_nb"}
    return out


def test_every_top_level_module_has_a_place_in_the_flow() -> None:
    tops = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir() if p.suffix == ".py" or p.is_dir()}
    tops -= {"__pycache__"}
    assert tops <= set(LAYERS), f"place these in LAYERS: {sorted(tops - set(LAYERS))}"


def test_no_module_imports_a_later_step() -> None:
    against = sorted(
        f"{module} imports {target}"
        for module, targets in _imports().items()
        for target in targets
        if LAYERS[_top(target)] > LAYERS[_top(module)] and (_top(module), _top(target)) not in ALLOWED
    )
    assert not against, against


def test_no_import_cycles_between_packages() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for module, targets in _imports().items():
        graph[_top(module)] |= {_top(t) for t in targets if _top(t) != _top(module)}
    # A cycle needs an edge to the same or an earlier layer and back: find any by depth-first search.
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, path: list[str]) -> bool:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle.extend([*path, node, nxt])
                return True
            if nxt not in state and visit(nxt, [*path, node]):
                return True
        state[node] = 2
        return False

    assert not any(visit(n, []) for n in sorted(graph) if n not in state), " -> ".join(cycle)
