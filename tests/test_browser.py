"""A real browser: JupyterLab on 127.0.0.1, `01_inspect.ipynb` run with `interactive=True` in headless Chromium.

Asserts that the Rerun viewer widget and matplotlib figures render in the page and saves a screenshot
to `test-artifacts/`. Chromium is Debian's (`/usr/bin/chromium`), driven by the playwright package.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from conftest import free_port

from lerobot_nb.notebooks import notebook_dir
from lerobot_nb.sources.sample import sample_recordings

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.xdist_group("notebooks"),
    pytest.mark.skipif(not CHROMIUM.is_file(), reason="Debian chromium is not installed (/usr/bin/chromium)"),
]


def interactive_copy(src: Path, dst: Path, **params: object) -> Path:
    """`src` with its parameters cell overridden (like papermill's injection) and nothing else changed."""
    nb = nbformat.read(src, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    cell.source += "\n\n# injected by the browser test\n" + "\n".join(
        f"{k} = {v!r}" for k, v in params.items()
    )
    nbformat.write(nb, dst)
    return dst


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """JupyterLab from this venv on a free loopback port with a token; yields (base URL with token, root)."""
    root = tmp_path_factory.mktemp("lab")
    home = tmp_path_factory.mktemp("labhome")
    token = secrets.token_hex(16)
    port = free_port()
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "ws"),
        "IPYTHONDIR": str(home / "ipython"),
    }
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]
    if os.geteuid() == 0:  # CI containers run as root; the server refuses that without the flag
        cmd.append("--allow-root")
    news = home / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text('{"fetchNews": "false", "checkForUpdates": false}')
    log = (home / "lab.log").open("w")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start:\n{(home / 'lab.log').read_text()[-2000:]}")
                time.sleep(0.5)
        yield f"{base}/lab/tree/{{path}}?reset&token={token}", root
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


# JupyterLab's own model (exposed with --LabApp.expose_app_in_browser): cells scrolled out of view are
# not in the DOM, so completion and errors are read from the notebook model, not from prompts.
# JupyterLab restores the previous test's tabs from its workspace, so the current widget must be
# the notebook this test opened before "run all" (which acts on the current widget) is sent.
KERNEL_READY = """
(path) => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const ctx = w && w.sessionContext;
  return !!(w && w.context && w.context.path === path && ctx && ctx.session && ctx.session.kernel
            && ctx.session.kernel.connectionStatus === 'connected' && ctx.kernelDisplayStatus === 'idle');
}
"""
RUN_ALL = "() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }"
CELL_STATE = """
() => {
  const w = window.jupyterapp.shell.currentWidget;
  const model = w.content.model;
  const out = {pending: 0, errors: []};
  for (let i = 0; i < model.cells.length; i++) {
    const c = model.cells.get(i);
    if (c.type !== 'code') continue;
    if (c.executionCount === null) out.pending++;
    for (const o of c.outputs.toJSON()) if (o.output_type === 'error') out.errors.push(o.ename + ': ' + o.evalue);
  }
  out.busy = w.sessionContext.kernelDisplayStatus !== 'idle';
  return out;
}
"""


def open_and_run_all(page: Any, url: str, path: str) -> None:
    """Open notebook `path` in JupyterLab, wait for its kernel, run all cells and wait until all ran cleanly."""
    page.goto(url.format(path=path), wait_until="domcontentloaded")
    page.wait_for_selector(".jp-NotebookPanel .jp-CodeCell", timeout=60_000)
    # the kernel must be connected before "run all", or the request goes nowhere
    page.wait_for_function(KERNEL_READY, arg=path, timeout=90_000, polling=500)
    page.evaluate(RUN_ALL)
    page.wait_for_function(
        f"() => {{ const s = ({CELL_STATE})(); return s.errors.length > 0 || "
        "(s.pending === 0 && !s.busy); }",
        timeout=240_000,
        polling=1000,
    )
    state = page.evaluate(CELL_STATE)
    assert state["errors"] == [] and state["pending"] == 0, state


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample_recordings(tmp_path_factory.mktemp("sample"), episodes=2)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    """A page in headless Debian Chromium (a fresh profile per test)."""
    playwright = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with playwright.sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            yield ctx.pages[0] if ctx.pages else ctx.new_page()
        finally:
            ctx.close()


def test_inspect_notebook_in_chromium(jupyterlab: tuple[str, Path], recordings: Path, browser: Any) -> None:
    url, root = jupyterlab
    interactive_copy(
        notebook_dir() / "01_inspect.ipynb",
        root / "01_inspect.ipynb",
        recordings=str(recordings),
        interactive=True,
    )
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "01_inspect_viewer.png"
    for old in ARTIFACTS.glob("01_inspect_*.png"):
        old.unlink()
    page = browser
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    open_and_run_all(page, url, "01_inspect.ipynb")

    # matplotlib: the inline PNGs (stream rates, coverage timeline) are in the page
    figures = page.locator(".jp-RenderedImage img[src^='data:image/png']")
    figures.first.scroll_into_view_if_needed()
    box = figures.first.bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 100
    figures.first.screenshot(path=str(ARTIFACTS / "01_inspect_figure.png"))

    # the rerun-notebook widget: its view mounts the wasm viewer's canvas and draws
    viewer = page.locator(".jp-OutputArea-output canvas")
    viewer.first.wait_for(state="attached", timeout=90_000)
    viewer.first.scroll_into_view_if_needed()
    page.wait_for_timeout(5000)  # a few frames for the screenshot
    vbox = viewer.first.bounding_box()
    assert vbox is not None and vbox["width"] > 300 and vbox["height"] > 200
    page.screenshot(path=str(shot))
    assert not [e for e in errors if "widget" in e.lower()], errors
    assert shot.stat().st_size > 10_000


def test_align_picker_updates_the_preview(
    jupyterlab: tuple[str, Path], recordings: Path, browser: Any
) -> None:
    """02 after Run All: choosing another fps in the picker re-aligns and redraws the preview."""
    url, root = jupyterlab
    interactive_copy(
        notebook_dir() / "02_align.ipynb",
        root / "02_align.ipynb",
        recordings=str(recordings),
        interactive=True,
    )
    page = browser
    open_and_run_all(page, url, "02_align.ipynb")
    preview = ".widget-vbox .widget-output .jp-OutputArea-output"
    page.locator(preview).last.scroll_into_view_if_needed()
    before = page.locator(f"{preview} img").last.get_attribute("src")
    assert before and before.startswith("data:image/png")
    fps = page.locator(".widget-dropdown", has_text="fps").locator("select")
    assert fps.input_value() == "10"
    fps.select_option(label="5")
    page.wait_for_function(
        f"(before) => {{ const imgs = document.querySelectorAll('{preview} img'); "
        "return imgs.length > 0 && imgs[imgs.length - 1].src !== before; }",
        arg=before,
        timeout=60_000,
    )
    assert not page.locator(f"{preview}[data-mime-type='application/vnd.jupyter.stderr']").count()
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(".widget-vbox").last.screenshot(path=str(ARTIFACTS / "02_align_picker.png"))


def test_train_prep_in_chromium(
    jupyterlab: tuple[str, Path], browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """06 after Run All: figures (before/after, chunks, coverage, loss) render; the frame slider redraws the chunk."""
    from lerobot_nb.notebooks.datasets import sample_dataset

    url, root = jupyterlab
    dataset = sample_dataset("pusht", tmp_path_factory.mktemp("pusht") / "pusht")
    interactive_copy(
        notebook_dir() / "06_train_prep.ipynb",
        root / "06_train_prep.ipynb",
        datasets=[str(dataset)],
        hand_demo=False,
        output=str(tmp_path_factory.mktemp("prepared") / "prepared"),
        steps=3,
        interactive=True,
    )
    page = browser
    open_and_run_all(page, url, "06_train_prep.ipynb")
    figures = page.locator(".jp-RenderedImage img[src^='data:image/png']")
    assert figures.count() >= 5  # before/after, chunks, the slider's chunk, coverage, loss
    slider = page.locator(".widget-slider", has_text="frame")
    slider.scroll_into_view_if_needed()
    preview = ".widget-vbox .widget-output .jp-OutputArea-output"
    before = page.locator(f"{preview} img").last.get_attribute("src")
    assert before and before.startswith("data:image/png")
    readout = slider.locator(".widget-readout")  # ipywidgets 8: an editable text box beside the slider
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("0")
    page.keyboard.press("Enter")
    page.wait_for_function(
        f"(before) => {{ const imgs = document.querySelectorAll('{preview} img'); "
        "return imgs.length > 0 && imgs[imgs.length - 1].src !== before; }",
        arg=before,
        timeout=60_000,
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(".widget-vbox").last.screenshot(path=str(ARTIFACTS / "06_train_prep_chunks.png"))
    figures.last.scroll_into_view_if_needed()
    figures.last.screenshot(path=str(ARTIFACTS / "06_train_prep_loss.png"))


def test_curate_controls_write_the_file(jupyterlab: tuple[str, Path], defects: Path, browser: Any) -> None:
    """07 after Run All on planted defects: the viewer and the figures render; choosing an episode and
    clicking drop / keep rewrites curation.yaml on disk."""
    from curate_defects import align

    from lerobot_nb.curate import read_curation
    from lerobot_nb.export.config import ExportConfig
    from lerobot_nb.pipeline import run_pipeline

    url, root = jupyterlab
    recordings = defects
    inputs, config = align(recordings)
    dataset = root / "dataset"
    run_pipeline(inputs.open(config), ExportConfig(output=str(dataset), progress=False), inputs=inputs.paths)
    curation = root / "curation.yaml"
    interactive_copy(
        notebook_dir() / "07_curate.ipynb",
        root / "07_curate.ipynb",
        recordings=str(recordings),
        output=str(dataset),
        curation=str(curation),
        interactive=True,
    )
    page = browser
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    open_and_run_all(page, url, "07_curate.ipynb")
    # the rules (drop_if: duplicate, trim_idle) wrote the first version
    assert set(read_curation(curation).episodes) == {"pusht_001", "pusht_005"}

    viewer = page.locator(".jp-OutputArea-output canvas")
    viewer.first.wait_for(state="attached", timeout=90_000)
    episode = page.locator(".widget-dropdown", has_text="episode").locator("select")
    episode.scroll_into_view_if_needed()
    labels = [t.replace("\xa0", " ") for t in episode.locator("option").all_inner_texts()]
    assert labels[0].startswith(("pusht_001", "pusht_004")) and labels[-1].endswith("(no flag)")
    assert labels[labels.index("pusht_003  (spike)")]
    episode.select_option(index=labels.index("pusht_003  (spike)"))
    page.locator(".widget-toggle-buttons button", has_text="drop").click()
    _wait_for(lambda: "pusht_003" in read_curation(curation).episodes)
    assert read_curation(curation).episodes["pusht_003"].drop == "spike"  # the reason defaults to the flags
    episode.select_option(index=labels.index("pusht_001  (idle_head, idle_tail)"))
    page.locator(".widget-toggle-buttons button", has_text="keep").click()
    _wait_for(lambda: "pusht_001" not in read_curation(curation).episodes)
    assert set(read_curation(curation).episodes) == {"pusht_003", "pusht_005"}
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(".widget-vbox").last.screenshot(path=str(ARTIFACTS / "07_curate_controls.png"))
    page.wait_for_timeout(3000)
    viewer.first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "07_curate_viewer.png"))
    assert not [e for e in errors if "widget" in e.lower()], errors


def _wait_for(condition: Any, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the file did not change in time")
        time.sleep(0.3)
