"""xgym's `lrbt` commands with the seed's flags: `python -m lerobot_nb.lrbt.{from_memmap,from_mano_npz,convert}`.

Thin wrappers over `lerobot-nb convert`'s machinery (the one pipeline), with the spec's flags
(`--dir`, `--branch`, `--repo-id`, `--hamer.host`, `--hamer.port`, `--embodiment`, `--task`,
`--version`), the output folder defaulting to lerobot's own root for the repo id, and a push to
the Hub at the end (`--push`, the default, as the spec does; `--no-push` only writes).
"""
