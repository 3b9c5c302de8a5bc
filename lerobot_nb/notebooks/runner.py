"""Run the notebooks (01_inspect .. 07_curate) in order with shared parameters (papermill), keep each executed copy + HTML.

The parameters YAML holds values shared by all notebooks; each notebook receives only the names
its `parameters` cell declares. An optional `notebooks:` mapping holds per-notebook overrides:

```yaml
fps: 10
interactive: false
notebooks:
  03_hand_pose: {max_episodes: 1}
```
The first failing notebook stops the run; the failure names the notebook and the cell.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lerobot_nb.config import read_yaml_mapping
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.notebooks.results import read_results

__all__ = [
    "NOTEBOOKS",
    "NotebookFailure",
    "NotebookRun",
    "RunResult",
    "load_params",
    "notebook_dir",
    "notebook_parameters",
    "run_notebooks",
]

#: The notebooks in the order of the data flow; `run_notebooks` runs them in this order.
NOTEBOOKS = (
    "01_inspect",
    "02_align",
    "03_hand_pose",
    "04_export",
    "05_validate",
    "06_train_prep",
    "07_curate",
)
#: Notebooks that write a dataset of their own from the one 04 wrote: notebook -> (its input
#: parameter, which gets the chain's `output`, and the folder under the output dir its `output` defaults to).
DERIVED = {"06_train_prep": ("datasets", "prepared")}

#: Exit codes of `lerobot-nb notebooks run`: all ran / a notebook failed (bad input is 2).
EXIT_OK, EXIT_NOTEBOOK_FAILED = 0, 1


def notebook_dir() -> Path:
    """The `notebooks/` folder next to the package (a source checkout / editable install)."""
    return Path(__file__).resolve().parents[2] / "notebooks"


@dataclass(frozen=True)
class NotebookFailure:
    """Where a run stopped: the notebook, the failing cell (0-based index in the executed copy,
    its execution count and first source line) and the exception."""

    notebook: str
    cell_index: int
    execution_count: int | None
    cell_source: str
    ename: str
    evalue: str
    executed: Path | None = None
    line: int | None = None

    @property
    def failing_line(self) -> str:
        """The source line that raised (from the traceback), else the cell's first code line."""
        lines = self.cell_source.splitlines()
        if self.line is not None and 0 < self.line <= len(lines):
            return lines[self.line - 1].strip()
        return next((ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith(("#", "%"))), "")

    def __str__(self) -> str:
        count = f" (In [{self.execution_count}])" if self.execution_count is not None else ""
        at = f" line {self.line}" if self.line is not None else ""
        line = self.failing_line if len(self.failing_line) <= 100 else self.failing_line[:97] + "..."
        where = f"{self.notebook}.ipynb, cell {self.cell_index}{count}{at} `{line}`"
        return f"{where}: {self.ename}: {' '.join(self.evalue.split())}"


@dataclass(frozen=True)
class NotebookRun:
    """One executed notebook: its output `.ipynb`, its HTML copy and the results it recorded."""

    name: str
    executed: Path
    html: Path | None
    results: dict[str, Any]
    seconds: float
    failure: NotebookFailure | None = None

    @property
    def ok(self) -> bool:
        """True if the notebook ran to the end without an error."""
        return self.failure is None


@dataclass(frozen=True)
class RunResult:
    """What `run_notebooks` did; `.exit_code` is what the CLI returns."""

    output_dir: Path
    runs: tuple[NotebookRun, ...] = ()
    not_run: tuple[str, ...] = ()
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def failure(self) -> NotebookFailure | None:
        """The first failed notebook's failure, in run order; None if every run notebook succeeded."""
        return next((r.failure for r in self.runs if r.failure is not None), None)

    @property
    def ok(self) -> bool:
        """True if no notebook failed."""
        return self.failure is None

    @property
    def exit_code(self) -> int:
        """`EXIT_OK` (0) if no notebook failed, else `EXIT_NOTEBOOK_FAILED` (1)."""
        return EXIT_OK if self.ok else EXIT_NOTEBOOK_FAILED

    @property
    def results(self) -> dict[str, dict[str, Any]]:
        """`{notebook: {key: value}}` for every notebook that ran."""
        return {r.name: r.results for r in self.runs}

    def summary(self, *, with_failure: bool = True) -> str:
        """One line per notebook (status, seconds, executed copy), then where the run stopped."""
        lines = []
        for r in self.runs:
            status = "ok" if r.ok else "FAILED"
            lines.append(f"{r.name:<14} {status:<7} {r.seconds:6.1f} s  {r.executed}")
        lines += [f"{name:<14} not run" for name in self.not_run]
        if self.failure is not None and with_failure:
            lines.append(f"stopped at {self.failure}")
        return "\n".join(lines)


def load_params(params: str | Path | Mapping[str, Any] | None) -> dict[str, Any]:
    """The parameters mapping from a YAML file (or a mapping as is); a clear error on bad YAML."""
    if params is None:
        return {}
    if isinstance(params, Mapping):
        return dict(params)
    return read_yaml_mapping(
        params, what="the parameters file must be a mapping of name: value", kind="parameters"
    )


def notebook_parameters(path: str | Path) -> dict[str, Any]:
    """The parameters a notebook declares in its `parameters` cell: `{name: default source text}`."""
    import papermill

    info = papermill.inspect_notebook(str(path))
    return {name: p["default"] for name, p in info.items()}


def _per_notebook(
    params: Mapping[str, Any],
    names: Sequence[str],
    nb_dir: Path,
    *,
    source: str,
    defaults: Mapping[str, Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """Split shared parameters and `notebooks:` overrides into what each notebook declares.

    `defaults` fill names a notebook declares but `params` do not set.
    """
    shared = {k: v for k, v in params.items() if k != "notebooks"}
    overrides = params.get("notebooks") or {}
    if not isinstance(overrides, Mapping):
        raise LerobotNbError("`notebooks:` must map a notebook name to its parameters", file=source)
    unknown_nb = sorted(set(overrides) - set(NOTEBOOKS))
    if unknown_nb:
        raise LerobotNbError(
            f"unknown notebook(s) {', '.join(unknown_nb)} under `notebooks:`; known: {', '.join(NOTEBOOKS)}",
            file=source,
        )
    declared = {name: notebook_parameters(nb_dir / f"{name}.ipynb") for name in names}
    known = set().union(*declared.values()) if declared else set()
    unknown = sorted(set(shared) - known)
    if unknown:
        raise LerobotNbError(
            f"unknown parameter(s) {', '.join(unknown)}; the notebooks declare: {', '.join(sorted(known))}",
            file=source,
        )
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        mine = dict(overrides.get(name) or {})
        bad = sorted(set(mine) - set(declared[name]))
        if bad:
            raise LerobotNbError(f"{name} declares no parameter(s) {', '.join(bad)}", file=source)
        merged = {k: v for k, v in (defaults or {}).items() if k in declared[name]}
        merged.update({k: v for k, v in shared.items() if k in declared[name]})
        merged.update(mine)
        if name in DERIVED:
            _derive(merged, shared, mine, (defaults or {}).get("output"), name)
        out[name] = merged
    return out


def _derive(
    merged: dict[str, Any], shared: Mapping[str, Any], mine: Mapping[str, Any], exported: Any, name: str
) -> None:
    """A notebook that reads the dataset 04 wrote (the chain's `output`) and writes its own: its
    input parameter defaults to that dataset, its `output` to a folder beside it (the shared
    `output` is 04's, never its own; only its `notebooks:` entry sets that)."""
    inputs, folder = DERIVED[name]
    chain_output = shared.get("output", exported)
    if inputs not in mine and inputs not in shared and chain_output is not None:
        merged[inputs] = [str(chain_output)]
    if "output" not in mine:
        if exported is None:
            merged.pop("output", None)
        else:
            merged["output"] = str(Path(exported).parent / folder)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _failure(name: str, exc: Exception, executed: Path) -> NotebookFailure:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        # IPython names the cell frame "Cell In[7], line 12"; ANSI colour codes wrap the parts.
        text = _ANSI.sub("", "\n".join(exc.traceback or []))
        m = re.search(r"Cell In\[\d+\], line (\d+)", text)
        line = int(m.group(1)) if m else None
        return NotebookFailure(
            name, exc.cell_index, exc.exec_count, exc.source, exc.ename, exc.evalue, executed, line
        )
    return NotebookFailure(name, -1, None, "", type(exc).__name__, str(exc), executed)


def _write_html(executed: Path) -> Path | None:
    """An HTML copy next to the executed notebook (JupyterLab look, figures embedded)."""
    import nbformat
    from nbconvert import HTMLExporter

    try:
        body, _ = HTMLExporter(template_name="lab").from_notebook_node(nbformat.read(executed, as_version=4))
    except Exception:  # an HTML copy is a convenience: never fail a run because of it
        return None
    html = executed.with_suffix(".html")
    html.write_text(body, encoding="utf-8")
    return html


def run_notebooks(
    params_yaml: str | Path | Mapping[str, Any] | None,
    output_dir: str | Path,
    *,
    notebooks: Sequence[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    notebooks_dir: str | Path | None = None,
    kernel_name: str = "python3",
    html: bool = True,
    log_output: bool = False,
) -> RunResult:
    """Execute the notebooks in order with shared parameters; stop at the first failure.

    Writes `<output_dir>/<name>.ipynb` (and `.html`) for each notebook that ran, the failing one
    included. When the parameters leave `output` unset, the dataset goes to
    `<output_dir>/dataset` so 04 (writes) and 05 (reads) share it. Relative paths in the
    parameters are relative to the current directory, where the kernels run.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    source = str(params_yaml) if isinstance(params_yaml, str | Path) else "parameters"
    params = load_params(params_yaml)
    params.update(overrides or {})
    names = list(notebooks or NOTEBOOKS)
    unknown = sorted(set(names) - set(NOTEBOOKS))
    if unknown:
        raise LerobotNbError(f"unknown notebook(s) {', '.join(unknown)}; known: {', '.join(NOTEBOOKS)}")
    out_dir = Path(output_dir)
    nb_dir = Path(notebooks_dir) if notebooks_dir else notebook_dir()
    missing = [n for n in names if not (nb_dir / f"{n}.ipynb").is_file()]
    if missing:
        raise LerobotNbError(f"notebook(s) not found: {', '.join(missing)}", file=nb_dir)
    per_nb = _per_notebook(
        params,
        names,
        nb_dir,
        source=source,
        defaults={"output": str(out_dir / "dataset"), "interactive": False},
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in names:  # never leave an earlier run's copies next to this run's
        for suffix in (".ipynb", ".html"):
            (out_dir / f"{name}{suffix}").unlink(missing_ok=True)
    runs: list[NotebookRun] = []
    for i, name in enumerate(names):
        executed = out_dir / f"{name}.ipynb"
        start = time.perf_counter()
        failure = None
        try:
            papermill.execute_notebook(
                str(nb_dir / f"{name}.ipynb"),
                str(executed),
                parameters=per_nb[name],
                kernel_name=kernel_name,
                cwd=os.getcwd(),
                progress_bar=False,
                log_output=log_output,
            )
        except PapermillExecutionError as exc:
            failure = _failure(name, exc, executed)
        except Exception as exc:  # kernel died, notebook unreadable, ...: still a named failure
            failure = _failure(name, exc, executed)
        seconds = time.perf_counter() - start
        results = read_results(executed) if executed.is_file() else {}
        page = _write_html(executed) if html and executed.is_file() else None
        runs.append(NotebookRun(name, executed, page, results, seconds, failure))
        if failure is not None:
            return RunResult(out_dir, tuple(runs), tuple(names[i + 1 :]), per_nb)
    return RunResult(out_dir, tuple(runs), (), per_nb)
