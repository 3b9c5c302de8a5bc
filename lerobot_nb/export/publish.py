"""Crash-safe publishing: build beside the output, then swap it in with one atomic rename.

At every instant the output path holds either the previous dataset (or nothing, if there was
none) or the finished new one. A build folder `.<name>.building-<pid>-<token>` lives in the
same parent folder (same file system, so `rename` is atomic); a killed run leaves only such a
folder, which the next run removes.
"""

from __future__ import annotations

import ctypes
import errno
import os
import secrets
import shutil
from collections.abc import Iterable
from pathlib import Path

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.lerobot_v3.layout import INFO_PATH

__all__ = ["check_output", "link_tree", "new_build_dir", "publish", "remove_stale_builds", "write_error"]

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _prefix(output: Path) -> str:
    return f".{output.name}.building-"


def is_dataset(path: Path) -> bool:
    return (path / INFO_PATH).is_file()


def check_output(output: Path, *, overwrite: bool, resume: bool, inputs: Iterable[Path] = ()) -> None:
    """Refuse outputs that would lose or corrupt data, before any work is done."""
    output = output.expanduser().resolve()
    for source in inputs:
        folder = source.expanduser().resolve()
        folder = folder if folder.is_dir() else folder.parent
        if output == folder or folder in output.parents:
            raise LerobotNbError(
                "the output folder is inside the input folder (the dataset would be read back as "
                "recordings); choose an output outside it",
                file=output,
            )
    parent = output.parent
    existing = next((p for p in (output, *output.parents) if p.exists()), Path("/"))
    if not existing.is_dir():
        raise LerobotNbError(f"{existing} is a file, not a folder", file=output)
    if not os.access(existing, os.W_OK | os.X_OK) or (output.exists() and not os.access(parent, os.W_OK)):
        raise LerobotNbError(f"no write permission in {existing}", file=output)
    if output.exists():
        if not output.is_dir():
            raise LerobotNbError("the output exists and is a file", file=output)
        empty = not any(output.iterdir())
        if resume and not is_dataset(output) and not empty:
            raise LerobotNbError(
                "--resume needs an existing LeRobot dataset here (no meta/info.json)", file=output
            )
        if not resume and not empty:
            if not overwrite:
                raise LerobotNbError(
                    "the output exists; pass --overwrite to replace it or --resume to add episodes to it",
                    file=output,
                )
            if not is_dataset(output):
                raise LerobotNbError(
                    "--overwrite only replaces a LeRobot dataset (meta/info.json) or an "
                    "empty folder; this folder holds something else",
                    file=output,
                )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_builds(output: Path) -> list[Path]:
    """Delete build folders of runs that died (their pid is gone); returns what was removed."""
    removed: list[Path] = []
    parent = output.parent
    if not parent.is_dir():
        return removed
    for path in sorted(parent.glob(_prefix(output) + "*")):
        pid_text = path.name[len(_prefix(output)) :].split("-")[0]
        if pid_text.isdigit() and not _alive(int(pid_text)):
            if path.name.endswith("-old") and not output.exists() and is_dataset(path):
                os.rename(path, output)  # a run died between the two renames of the fallback publish
                continue
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def new_build_dir(output: Path) -> Path:
    """A fresh, empty build folder beside `output`."""
    output.parent.mkdir(parents=True, exist_ok=True)
    build = output.parent / f"{_prefix(output)}{os.getpid()}-{secrets.token_hex(4)}"
    build.mkdir()
    return build


def link_tree(src: Path, dst: Path, *, skip: Iterable[str] = ()) -> None:
    """Hard-link every file of `src` into `dst` (same content, no copy), except `skip` paths."""
    skipped = set(skip)
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src).as_posix()
        if path.is_dir() or rel in skipped:
            continue
        target = dst / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, target)
        except OSError:  # no hard links on this file system: copying keeps the old file intact too
            shutil.copy2(path, target)


def _fsync_tree(root: Path) -> None:
    """Flush file contents and folder entries so the renamed dataset survives a power cut too."""
    for path in [*root.rglob("*"), root]:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def publish(build: Path, output: Path) -> None:
    """Make the finished `build` folder the dataset at `output`, atomically; old one is deleted."""
    _fsync_tree(build)
    if not output.exists():
        os.rename(build, output)
        return
    if _exchange(build, output):
        shutil.rmtree(build)  # now holds the previous dataset
        return
    # No atomic exchange: move the old one aside first (a crash here leaves it under the
    # build prefix, where the next run finds it).
    old = output.parent / f"{_prefix(output)}{os.getpid()}-old"
    os.rename(output, old)
    os.rename(build, output)
    shutil.rmtree(old)


def write_error(exc: OSError, build: Path, output: Path) -> LerobotNbError:
    """One line naming the dataset file that could not be written (not the hidden build folder)."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        what = "no space left on the device"
    elif exc.errno == errno.EFBIG:
        what = "file size limit reached"
    else:
        what = exc.strerror or str(exc)
    name = str(exc.filename or "")
    rel = name[len(str(build)) + 1 :] if name.startswith(str(build)) else name
    target = f" {rel}" if rel else ""
    return LerobotNbError(f"cannot write{target} ({what}); nothing was published", file=output)
