"""Files that failed to ingest, remembered so later runs do not decode them again.

A small JSON file next to the store (`failed-files.json` in MUSICREC_DATA_DIR): path → size, mtime and reason. A
file is tried again once its size or modification time changes, or with `musicrec ingest --retry-failed`; a
file that ingests fine, or no longer exists, is forgotten. Only failures of the file itself are remembered (not
audio, corrupt, truncated, silent, too short, an analysis that crashed or ran out of time), not the ones that
depend on settings or on the store (too long, a full disk).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

FILE_NAME = "failed-files.json"


@dataclass(frozen=True)
class Known:
    size: int
    mtime_ns: int
    reason: str


def file_state(path: str | os.PathLike) -> tuple[int, int] | None:
    """(size, mtime in ns) of a file, following links; None when it cannot be read."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


class FailureMemory:
    def __init__(self, path: Path):
        self.path = path
        self.entries: dict[str, Known] = {}
        self.changed = False
        try:
            raw = json.loads(path.read_text())
            for name, e in raw.get("files", {}).items():
                self.entries[name] = Known(int(e["size"]), int(e["mtimeNs"]), str(e["reason"]))
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            self.changed = True  # unreadable: start again (it is only a cache of past failures)

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> FailureMemory:
        return cls(Path(data_dir) / FILE_NAME)

    def known(self, path: str, state: tuple[int, int] | None) -> Known | None:
        """The remembered failure of this file, if it has not changed since (same size and mtime)."""
        entry = self.entries.get(path)
        if entry is None or state is None or (entry.size, entry.mtime_ns) != state:
            return None
        return entry

    def remember(self, path: str, state: tuple[int, int] | None, reason: str) -> None:
        if state is None:
            return
        self.entries[path] = Known(state[0], state[1], reason)
        self.changed = True

    def forget(self, path: str) -> None:
        if self.entries.pop(path, None) is not None:
            self.changed = True

    def forget_under(self, roots: list[Path]) -> int:
        """Forget the failures of files under these folders that no longer exist (`musicrec prune`)."""
        gone = [p for p in self.entries if any(_under(p, r) for r in roots) and not os.path.lexists(p)]
        for p in gone:
            self.forget(p)
        return len(gone)

    def save(self) -> None:
        """Write the file if anything changed (atomically: a temporary file renamed over it)."""
        if not self.changed:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = {
            "version": 1,
            "files": {
                p: {"size": e.size, "mtimeNs": e.mtime_ns, "reason": e.reason} for p, e in sorted(self.entries.items())
            },
        }
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".failed-files.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(body, fh, indent=1)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.changed = False


def _under(path: str, root: Path) -> bool:
    return path == str(root) or path.startswith(str(root).rstrip(os.sep) + os.sep)
