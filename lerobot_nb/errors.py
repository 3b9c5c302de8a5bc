"""One exception type whose message is a single actionable line naming file, episode and stream."""

from __future__ import annotations

from pathlib import Path

__all__ = ["LerobotNbError"]


class LerobotNbError(Exception):
    """A user-facing error: the CLI prints `error: <message>` and exits 2, no traceback.

    The message always reads `<where>: <what is wrong>`, where `<where>` joins the file (or
    server address), the episode and the stream that the problem concerns, when known.
    """

    def __init__(
        self,
        what: str,
        *,
        file: str | Path | None = None,
        episode: str | None = None,
        stream: str | None = None,
    ) -> None:
        self.what = what
        self.file = str(file) if file is not None else None
        self.episode = episode
        self.stream = stream
        where = ", ".join(
            part
            for part in (
                self.file,
                f"episode {episode}" if episode is not None else None,
                f"stream {stream}" if stream is not None else None,
            )
            if part
        )
        one_line = " ".join(what.split())
        super().__init__(f"{where}: {one_line}" if where else one_line)

    def with_context(
        self, *, file: str | Path | None = None, episode: str | None = None, stream: str | None = None
    ) -> LerobotNbError:
        """The same error with missing context filled in (existing context wins)."""
        return LerobotNbError(
            self.what,
            file=self.file if self.file is not None else file,
            episode=self.episode if self.episode is not None else episode,
            stream=self.stream if self.stream is not None else stream,
        )
