"""Rules over the scores -> a curation: drop what matches a rule, trim flagged idle heads and tails.

```python
curation = suggest(scores, SuggestConfig(drop_if=("idle_fraction > 0.8", "duplicate"), trim_idle=True))
write_curation("curation.yaml", curation)
```
Each dropped episode's reason names the rule and the values it read. Keys are recording ids when
every episode has one (they work with `convert --curation` and with `curate apply` on datasets this
package wrote), else episode indices.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl

from lerobot_nb.config import help_field
from lerobot_nb.curate.curation import Curation, EpisodeDecision, EpisodeKey
from lerobot_nb.curate.rules import Kind, Rule, compile_rule
from lerobot_nb.curate.score import FLAGS, SCORE_SCHEMA, Scores
from lerobot_nb.errors import LerobotNbError

__all__ = ["SuggestConfig", "compile_rules", "episode_key", "suggest", "trim_for"]


@dataclass(frozen=True, kw_only=True)
class SuggestConfig:
    """Rules that turn scores into a curation (API keywords = CLI flags = notebook parameters)."""

    drop_if: tuple[str, ...] = help_field(
        (),
        'drop the episodes a rule matches, e.g. "idle_fraction > 0.8", "duplicate", '
        '"spikes > 2 and not task_present" (score columns, flag names, and/or/not, < <= > >= == != in)',
        metavar="RULE",
    )
    trim_idle: bool = help_field(
        False, "trim the flagged idle head / tail (longer than max_idle_edge_s) of every kept episode"
    )
    key: Literal["auto", "recording", "episode_index"] = help_field(
        "auto",
        "name episodes by recording id or episode_index (auto: recording ids when every episode has one)",
    )


def _kind(dtype: Any) -> Kind:
    if dtype == pl.Boolean:
        return "bool"
    if dtype == pl.String:
        return "text"
    if isinstance(dtype, pl.List) or dtype == pl.List:
        return "list"
    return "number"


def compile_rules(rules: tuple[str, ...]) -> list[Rule]:
    """Every rule compiled against the score columns and flags (a bad rule fails before scoring)."""
    columns = {name: _kind(dtype) for name, dtype in SCORE_SCHEMA.items()}
    return [compile_rule(text, columns, list(FLAGS)) for text in rules]


def episode_key(row: Mapping[str, Any], key: Literal["recording", "episode_index"]) -> EpisodeKey:
    """A score row's curation key: recording id (str) or episode_index (int); raises if it has none."""
    value = row[key]
    if value is None:
        raise LerobotNbError(f"episode {row['episode_index']} has no {key}: use key episode_index")
    return str(value) if key == "recording" else int(value)


def trim_for(row: Mapping[str, Any], max_idle_edge_s: float) -> tuple[float, float | None] | None:
    """The trim [start_s, end_s) that removes a flagged idle head and/or tail, or None.

    The last still frame before the motion starts is kept (frame idle_head_s * fps), and so is
    the first frame of the still tail: exactly the moving part of the episode remains.
    """
    head, tail = row.get("idle_head_s"), row.get("idle_tail_s")
    if head is None or tail is None:
        return None
    start = head if head > max_idle_edge_s else 0.0
    end = row["duration_s"] - tail if tail > max_idle_edge_s else None
    return (start, end) if start > 0 or end is not None else None


def suggest(scores: Scores, config: SuggestConfig | None = None) -> Curation:
    """The curation the rules give for `scores` (episodes no rule touches are not named)."""
    config = config or SuggestConfig()
    rules = compile_rules(config.drop_if)
    key = _key_kind(scores.table, config.key)
    decisions: dict[EpisodeKey, EpisodeDecision] = {}
    for row in scores.table.iter_rows(named=True):
        decision = _decide(row, rules, config, scores.config.max_idle_edge_s)
        if decision is not None:
            decisions[episode_key(row, key)] = decision
    return Curation(decisions)


def _key_kind(table: pl.DataFrame, key: str) -> Literal["recording", "episode_index"]:
    if key == "recording" or (key == "auto" and table.height and table["recording"].null_count() == 0):
        return "recording"
    return "episode_index"


def _decide(
    row: dict[str, Any], rules: list[Rule], config: SuggestConfig, edge_s: float
) -> EpisodeDecision | None:
    for rule in rules:
        if rule.matches(row):
            return EpisodeDecision(drop=f"rule {rule.explain(row)}")
    if not config.trim_idle:
        return None
    if row["idle_fraction"] == 1.0:  # no motion at all: no trim leaves anything to learn from
        return EpisodeDecision(drop="still the whole time (trim_idle)")
    trim = trim_for(row, edge_s)
    if trim is None:
        return None
    start, end = trim
    if end is not None and end <= start:
        return EpisodeDecision(
            drop=f"idle head and tail cover the whole episode (trim_idle: {start:g}..{end:g} s)"
        )
    return EpisodeDecision(trim=trim)
