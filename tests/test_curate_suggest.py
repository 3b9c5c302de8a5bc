"""Rules over the scores: the expression language, `suggest`, and `lerobot-nb curate suggest`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
from curate_defects import SAMPLE_ALIGN, score

from lerobot_nb.cli.main import main
from lerobot_nb.curate import Curation, EpisodeDecision, Scores, read_curation
from lerobot_nb.curate.suggest import SuggestConfig, compile_rules, suggest, trim_for
from lerobot_nb.errors import LerobotNbError

ROW: dict[str, Any] = {
    "episode_index": 3,
    "recording": "pusht_003",
    "idle_fraction": 0.93,
    "spikes": 2,
    "task": "push the T",
    "task_present": True,
    "flags": ["idle_head", "spike"],
    "duplicate_of": None,
    "stale_fraction": None,
    "duration_s": 7.8,
}


@pytest.mark.parametrize(
    ("rule", "matches"),
    [
        ("idle_fraction > 0.8", True),
        ("idle_fraction > 0.95", False),
        ("idle_fraction >= 0.93 and spikes == 2", True),
        ("idle_fraction > 0.95 or spike", True),
        ("not spike", False),
        ("idle_head and not duplicate", True),
        ("'push' in task", True),
        ("'idle_head' in flags", True),
        ("duplicate_of != null", False),
        ("duplicate_of == null", True),
        ("stale_fraction > 0.1", False),  # null: not a recording, the comparison is false
        ("stale_fraction <= 0.1", False),
        ("task_present == false", False),
        ("(spikes > 1) and (idle_fraction < 1)", True),
        ("spikes > 1e0", True),
        ("recording == 'pusht_003'", True),
    ],
)
def test_rules(rule: str, matches: bool) -> None:
    (compiled,) = compile_rules((rule,))
    assert compiled.matches(ROW) is matches


@pytest.mark.parametrize(
    ("rule", "error"),
    [
        ("idle_fracton > 0.8", "unknown name `idle_fracton`; did you mean idle_fraction"),
        ("idle_fraction", "is a number, not a condition"),
        ("idle_fraction and spike", "`and` needs conditions; idle_fraction is a number"),
        ("task > 3", "cannot compare a text with a number"),
        ("task < 'a'", "`<` compares numbers; a text can only be tested with == or !="),
        ("spikes >", "ends too early"),
        ("(spikes > 1", "ends too early (expected `)`)"),
        ("spikes > 1)", "unexpected `)`"),
        ("spikes > 1; import os", "cannot read ';"),
        ("__import__('os').system('x')", "cannot read \".system('x')\""),
        ("__import__('os')", "unknown name `__import__`"),
        ("", "empty rule"),
    ],
)
def test_bad_rules_are_one_line(rule: str, error: str) -> None:
    with pytest.raises(LerobotNbError) as info:
        compile_rules((rule,))
    assert str(info.value).startswith(f"rule `{rule}`") and error in str(info.value)
    assert "\n" not in str(info.value)


def test_explain_names_the_values() -> None:
    (rule,) = compile_rules(("idle_fraction > 0.8 and spikes >= 2",))
    assert rule.explain(ROW) == "idle_fraction > 0.8 and spikes >= 2 (idle_fraction = 0.93, spikes = 2)"


def test_trim_for_keeps_exactly_the_moving_frames() -> None:
    row = {"idle_head_s": 1.4, "idle_tail_s": 1.6, "duration_s": 7.7}
    assert trim_for(row, 1.0) == (1.4, 7.7 - 1.6)
    assert trim_for(row, 1.5) == (0.0, 7.7 - 1.6)  # only the tail is longer than the limit
    assert trim_for(row, 2.0) is None
    assert trim_for({"idle_head_s": None, "idle_tail_s": None, "duration_s": 1.0}, 0.0) is None


@pytest.fixture(scope="module")
def scores(defects: Path) -> Scores:
    return score(defects)


@pytest.mark.slow
def test_suggest_drops_and_trims(scores: Scores) -> None:
    config = SuggestConfig(
        drop_if=("duplicate", "spikes > 0", "gaps > 0 and stale_fraction > 0.05"), trim_idle=True
    )
    curation = suggest(scores, config)
    idle = scores.table.filter(pl.col("recording") == "pusht_001").row(0, named=True)
    stale = scores.table.filter(pl.col("recording") == "pusht_004")["stale_fraction"][0]
    assert curation == Curation(
        {
            "pusht_001": EpisodeDecision(
                trim=(idle["idle_head_s"], idle["duration_s"] - idle["idle_tail_s"])
            ),
            "pusht_003": EpisodeDecision(drop="rule spikes > 0 (spikes = 1)"),
            "pusht_004": EpisodeDecision(
                drop=f"rule gaps > 0 and stale_fraction > 0.05 (gaps = 1, stale_fraction = {stale:.3g})"
            ),
            "pusht_005": EpisodeDecision(drop="rule duplicate"),
        }
    )
    # by episode_index (datasets): recordings have none
    with pytest.raises(LerobotNbError, match="has no episode_index"):
        suggest(scores, SuggestConfig(drop_if=("duplicate",), key="episode_index"))
    assert suggest(scores, SuggestConfig()) == Curation({})


@pytest.mark.slow
def test_cli_suggest_writes_the_file(
    defects: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [str(defects), f"--fps={SAMPLE_ALIGN['fps']}", *(f"--image={s}" for s in SAMPLE_ALIGN["image"])]
    out = tmp_path / "curation.yaml"
    code = main(
        [
            "curate",
            "suggest",
            *args,
            "--drop-if",
            "duplicate",
            "--drop-if",
            "gap",
            "--trim-idle",
            "--output",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[0] == f"{out}: 2 dropped, 1 trimmed"
    curation = read_curation(out)
    assert list(curation.episodes) == ["pusht_001", "pusht_004", "pusht_005"]
    assert curation.episodes["pusht_004"].drop == "rule gap"
    # without --output the YAML goes to stdout, the summary to stderr
    assert main(["curate", "suggest", *args, "--drop-if", "duplicate", "--no-cameras"]) == 0
    captured = capsys.readouterr()
    assert (
        "pusht_005: {drop: rule duplicate}" in captured.out and captured.err.strip() == "1 dropped, 0 trimmed"
    )
    # a bad rule fails before anything is scored or written
    bad = tmp_path / "bad.yaml"
    assert main(["curate", "suggest", *args, "--drop-if", "idle_fracton > 1", "--output", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: rule `idle_fracton > 1`: unknown name") and not bad.exists()
