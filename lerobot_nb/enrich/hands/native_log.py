"""Native logging of the embedded hand backend: keep MediaPipe's C++ chatter off the user's stderr.

mediapipe 0.10.14 logs through absl and TensorFlow Lite straight to file descriptor 2 when its
graph starts (on the first `process` call, again after every rebuild): an XNNPACK INFO line, an
absl pre-init WARNING and one "Feedback manager" line per model thread. The classic switches
(`GLOG_minloglevel`, `TF_CPP_MIN_LOG_LEVEL`) are set before mediapipe is imported, for builds that
honour them, but this build ignores them (measured), so the calls into the graph run with fd 2
redirected to a file. Afterwards the known start-up lines are dropped and anything else (an error
loading a model, a fallback) is handed back so it can go to the episode's report.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator

__all__ = ["BENIGN_PATTERNS", "captured_native_stderr", "quiet_environment", "significant_lines"]

#: Environment switches of glog / TensorFlow (set only when the user has not set them).
QUIET_ENV = {"GLOG_minloglevel": "2", "TF_CPP_MIN_LOG_LEVEL": "3"}

#: Start-up lines every healthy MediaPipe graph writes: not worth a report line.
BENIGN_PATTERNS = (
    re.compile(r"^INFO: Created TensorFlow Lite XNNPACK delegate for CPU\.$"),
    re.compile(r"^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$"),
    re.compile(r"^[IW]\d{4} [\d:. ]+\d+ inference_feedback_manager\.cc:\d+\] Feedback manager requires"),
)

# fd 2 is one per process: two captures must not interleave their dup2 calls.
_FD_LOCK = threading.Lock()


def quiet_environment() -> None:
    """Set the glog/TF log-level variables (unless already set) and absl-py's Python verbosity."""
    for name, value in QUIET_ENV.items():
        os.environ.setdefault(name, value)
    # mediapipe's Python code logs no info worth showing; absl-py ships with it.
    with contextlib.suppress(ImportError):
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    # mediapipe's own Python calls a protobuf API that warns once per process; not the user's concern.
    warnings.filterwarnings(
        "ignore", message=r"SymbolDatabase\.GetPrototype\(\) is deprecated", category=UserWarning
    )


def significant_lines(lines: list[str]) -> list[str]:
    """The non-empty `lines` that are not known start-up noise (`BENIGN_PATTERNS`)."""
    return [ln for ln in lines if ln.strip() and not any(p.search(ln) for p in BENIGN_PATTERNS)]


@contextlib.contextmanager
def captured_native_stderr() -> Iterator[list[str]]:
    """Redirect file descriptor 2 to a temporary file; on exit the list holds the lines written.

    Catches C/C++ writes that `sys.stderr` never sees (and Python's own stderr writes in the
    block). The lines are filled in even when the block raises, so a caller can report them.
    """
    lines: list[str] = []
    with _FD_LOCK, tempfile.TemporaryFile() as sink:
        with contextlib.suppress(AttributeError, ValueError):
            sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield lines
        finally:
            with contextlib.suppress(AttributeError, ValueError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            lines.extend(sink.read().decode("utf-8", errors="replace").splitlines())
