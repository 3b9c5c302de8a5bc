"""`python -m lerobot_nb.lrbt.from_memmap --dir DIR --repo-id user/name [--branch v0.1]`: xgym memmaps -> dataset.

The folder holds `xgym_data_*.dat` + `.json` sidecars and one `task-*.npy`; its format brings the
streams (14 state values, the GELLO action, every camera, one record = one frame at the recorder's
rate). The task's 512-d embedding becomes `observation.language_embedding`, as xgym's own
converter adds it (`--language-embedding none` leaves it out).
"""

from __future__ import annotations

from lerobot_nb.lrbt.command import LrbtCommand, add_dir

__all__ = ["COMMAND", "main"]

COMMAND = LrbtCommand(
    prog="lrbt-from-memmap",
    description=__doc__ or "",
    add_flags=lambda parser: add_dir(parser, "folder of xgym_data_*.dat recordings and their task-*.npy"),
    inputs=lambda args: (str(args.dir),),
    defaults={"language_embedding": "npy", "robot_type": "xarm"},
)
main = COMMAND.main

if __name__ == "__main__":
    COMMAND.run_module()
