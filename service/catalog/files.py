"""Which files an ingest reads: folders walked for audio files, anything that is not a regular file refused.

A FIFO, a socket, a device (say a symlink to /dev/zero named `x.mp3`) or a dangling link would hang or never end
the hashing and the decoding; each is reported with its reason instead. Hashing opens without blocking and checks
the opened file again, so a file swapped for a FIFO after the walk is refused too.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from service.analysis.formats import AUDIO_SUFFIXES

_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a folder"),
)


class NotRegularFile(ValueError):
    pass


def not_regular(mode: int) -> str | None:
    """Why a file of this mode cannot be ingested, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    return f"not a regular file ({kind}): skipped"


def _problem(path: Path) -> str | None:
    try:
        return not_regular(os.stat(path).st_mode)  # follows links: a link to /dev/zero is a device
    except FileNotFoundError:
        return "a link to nothing (dangling symlink): skipped" if path.is_symlink() else "no such file or folder"
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"


@dataclass(frozen=True)
class Found:
    """A file an ingest will try: its absolute path, why it cannot be read (or None), and the path it was found
    under (the folder or file named on the command line)."""

    path: Path
    error: str | None
    root: Path


def _walk(top: Path) -> Iterator[Path]:
    """Audio files under `top`, sorted, following links to folders; a folder reached again (a link loop, or two
    links to one folder) is walked once, told apart by (st_dev, st_ino)."""
    seen: set[tuple[int, int]] = set()
    for root, dirs, files in os.walk(top, followlinks=True):
        try:
            st = os.stat(root)
        except OSError:
            dirs[:] = []
            continue
        if (st.st_dev, st.st_ino) in seen:
            dirs[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        dirs.sort()
        for name in sorted(files):
            if Path(name).suffix.lower() in AUDIO_SUFFIXES and not name.startswith("."):
                yield Path(root) / name


def find(paths: Iterable[str | os.PathLike], empty: list[Path] | None = None) -> Iterator[Found]:
    """Every file to try. Folders are walked for audio files (links to folders followed, loops walked once); a file
    named explicitly is always tried, so a non-audio file given by name fails with a clear reason. Folders that hold
    no audio file are appended to `empty`."""
    for raw in paths:
        path = Path(raw).expanduser().absolute()
        if path.is_dir():
            n = 0
            for file in _walk(path):
                n += 1
                yield Found(file, _problem(file), path)
            if not n and empty is not None:
                empty.append(path)
        else:
            yield Found(path, _problem(path), path)


def discover(paths: Iterable[str | os.PathLike]) -> Iterator[tuple[Path, str | None]]:
    """Yield (absolute path, error) of every file `find` yields."""
    for found in find(paths):
        yield found.path, found.error


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """The content hash that names a file's track. Raises NotRegularFile for anything but a regular file (checked
    on the opened descriptor, which a FIFO without a writer cannot block: O_NONBLOCK)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as fh:
        if (problem := not_regular(os.fstat(fd).st_mode)) is not None:
            raise NotRegularFile(problem)
        digest = hashlib.sha256()
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()
