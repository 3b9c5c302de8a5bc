"""`07_curate` under papermill on recordings with planted defects: the rules decide, the file and the
curated dataset are what the package's own functions give."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from curate_defects import SAMPLE_ALIGN, score

from lerobot_nb.curate import read_curation, score_dataset
from lerobot_nb.curate.suggest import SuggestConfig, suggest
from lerobot_nb.notebooks import RunResult, notebook_dir, read_results, run_notebooks

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("notebooks")]

SAMPLE_YAML = notebook_dir() / "params" / "sample.yaml"


@pytest.fixture(scope="module")
def run(defects: Path, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    """04 then 07 with the README's parameters file (batch: interactive false, the rules decide)."""
    return run_notebooks(
        SAMPLE_YAML,
        tmp_path_factory.mktemp("run"),
        notebooks=["04_export", "07_curate"],
        overrides={"recordings": str(defects)},
    )


def test_rules_decide_and_the_curated_dataset_follows(run: RunResult, defects: Path) -> None:
    assert run.ok, run.summary()
    res = run.results["07_curate"]
    scores = score(defects)  # the same scores in this process
    assert res["episodes"] == scores.table["recording"].to_list()
    assert res["flagged"] == scores.flagged
    assert res["flags"] == {
        "pusht_001": ["idle_head", "idle_tail"],
        "pusht_002": ["frozen_camera"],
        "pusht_003": ["spike"],
        "pusht_004": ["stale", "gap"],
        "pusht_005": ["duplicate"],
    }
    # sample.yaml: drop_if [duplicate], trim_idle true
    want = suggest(scores, SuggestConfig(drop_if=("duplicate",), trim_idle=True))
    dataset = Path(run.results["04_export"]["output"])
    curation = read_curation(f"{dataset}.curation.yaml")
    assert curation.episodes == want.episodes
    assert res["curation"] == {str(k): d.to_yaml() for k, d in want.episodes.items()}
    assert list(want.episodes) == ["pusht_001", "pusht_005"]

    curated = Path(res["curated_output"])
    assert curated == Path(f"{dataset}_curated") and res["verdict"] == "pass"
    written = json.loads((curated / "meta/lerobot_nb.json").read_text())["episodes"]
    assert list(written) == ["pusht_000", "pusht_001", "pusht_002", "pusht_003", "pusht_004"]
    before, after = score_dataset(dataset), score_dataset(curated)
    head, tail = (
        scores.table.filter(scores.table["recording"] == "pusht_001")[c][0]
        for c in ("idle_head_s", "idle_tail_s")
    )
    trimmed = round(head * 10) + round(
        tail * 10
    )  # frames cut from pusht_001 (the last still frames stay: see trim_for)
    assert res["before"] == _facts(before) and res["after"] == _facts(after)
    duplicate = before.table.filter(before.table["recording"] == "pusht_005")["frames"][0]
    assert (
        res["after"]["episodes"] == 5
        and res["after"]["frames"] == res["before"]["frames"] - duplicate - trimmed
    )
    # after curation the dataset scores flag only what the rules left: the frozen camera and the spike
    assert {
        n: f for n, f in zip(after.table["recording"], after.table["flags"].to_list(), strict=True) if f
    } == {
        "pusht_002": ["frozen_camera"],
        "pusht_003": ["spike"],
    }


def _facts(s: Any) -> dict[str, Any]:
    t = s.table
    return {
        "episodes": t.height,
        "frames": int(t["frames"].sum()),
        "seconds": round(float(t["duration_s"].sum()), 1),
        "flagged episodes": len(s.flagged),
    }


def test_interactive_under_papermill_builds_the_controls(
    run: RunResult, defects: Path, tmp_path: Path
) -> None:
    """interactive=true without a browser: the viewer and the controls are created, nothing waits, and
    the controls' first write leaves the file as the rules wrote it."""
    dataset = run.results["04_export"]["output"]
    out = tmp_path / "interactive"
    result = run_notebooks(
        SAMPLE_YAML,
        out,
        notebooks=["07_curate"],
        overrides={
            "recordings": str(defects),
            "output": dataset,
            "curation": str(tmp_path / "mine.yaml"),
            "curated_output": str(tmp_path / "curated"),
            "interactive": True,
            # sample.yaml sets the rules under `notebooks: 07_curate:`, which wins over shared values
            "notebooks": {"07_curate": {"drop_if": ["spikes > 0"], "trim_idle": False}},
        },
        html=False,
    )
    assert result.ok, result.summary()
    nb = json.loads((out / "07_curate.ipynb").read_text())
    widgets = [
        o
        for c in nb["cells"]
        if c["cell_type"] == "code"
        for o in c["outputs"]
        if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    assert len(widgets) >= 2  # the Rerun viewer and the curation controls
    assert read_curation(tmp_path / "mine.yaml").episodes.keys() == {"pusht_003"}
    assert read_results(out / "07_curate.ipynb")["after"]["episodes"] == 5
    assert SAMPLE_ALIGN["fps"] == 10  # the parameters file the defaults above assume
