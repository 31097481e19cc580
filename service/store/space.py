"""Free space on the embedded store's disk, checked at start-up and before writes.

Qdrant Edge memory-maps pre-allocated files: on a full disk a write into a mapped page kills the whole process
with SIGBUS and no message (an almost empty store needs ~130 MB of real space). Its files are sparse: their holes
take real space only when a page is first touched, which opening a store does too (measured on tmpfs: the first
reopen of a small store took ~94 MB more). So the space asked for is the holes of the store's files plus the
write's own size plus a reserve. Refusing early with a clear message keeps the process alive and the store
intact; everything works again once space is freed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from service.errors import DiskFull

MB = 1 << 20


def sparse_holes(root: Path) -> int:
    """Bytes that the files under `root` may still claim as their holes fill up (apparent size - allocated)."""
    holes = 0
    for folder, _, files in os.walk(root):
        for name in files:
            try:
                st = os.stat(os.path.join(folder, name))
            except OSError:
                continue
            holes += max(0, st.st_size - st.st_blocks * 512)
    return holes


def check_free_space(
    path: Path, min_free_mb: int, *, need_bytes: int = 0, holes: int = 0, doing: str = "writing"
) -> None:
    """Raise DiskFull unless `min_free_mb` MB plus `need_bytes` plus `holes` (the store's sparse files, yet to be
    filled) are free on the disk holding `path`."""
    if min_free_mb <= 0 and need_bytes <= 0:
        return
    free = shutil.disk_usage(path).free
    need = min_free_mb * MB + need_bytes + holes
    if free < need:
        parts = [f"{need_bytes / MB:.0f} MB for itself"] if need_bytes else []
        parts += [f"{holes / MB:.0f} MB for the store's pre-allocated files"] if holes else []
        parts += [f"{min_free_mb} MB kept free (MUSICREC_MIN_FREE_MB)"]
        raise DiskFull(
            f"only {free / MB:.0f} MB free on the disk of {path}, {doing} needs {need / MB:.0f} MB "
            f"({', '.join(parts)}): free some space and try again; what is stored is intact",
            {"path": str(path), "freeMb": round(free / MB), "neededMb": round(need / MB)},
        )
