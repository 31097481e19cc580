"""Fit the versioned feature scaler (per-dimension mean/std of the raw vectors) on a corpus of real music.

    python -m service.analysis.scaler_fit OUT.json FILE_OR_DIR...

The shipped `service/analysis/scalers/librosa_v1.json` was fitted on the 26 tracks of Debian's `hedgewars-data`
(/usr/share/games/hedgewars/Data/Music/*.ogg). Other soundtrack packages (wesnoth-1.16-music,
nexuiz-music) are kept out of the fit for evaluation.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

from service.analysis import features
from service.analysis.decode import decode_for_analysis
from service.analysis.formats import AUDIO_SUFFIXES
from service.errors import AudioError

log = logging.getLogger(__name__)


def expand(paths: list[str]) -> list[Path]:
    """Files as given; directories → the audio files under them (sorted)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in AUDIO_SUFFIXES))
        else:
            out.append(p)
    return out


def fit(raws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n_tracks, VECTOR_SIZE) raw vectors → (mean, std). The std is floored at 1 % of (|mean| + 1):
    a dimension that barely varies in the fitting corpus must not blow up on tracks that differ."""
    raws = np.asarray(raws, np.float64)
    mean = raws.mean(axis=0)
    std = raws.std(axis=0, ddof=1) if raws.shape[0] > 1 else np.zeros_like(mean)
    return mean, np.maximum(std, 0.01 * (np.abs(mean) + 1.0))


def main(paths: list[str], out: str) -> dict:
    files = expand(paths)
    raws, used, failed = [], [], []
    t0 = time.perf_counter()
    for f in files:
        try:
            decoded = decode_for_analysis(f)
            raw, _tempo, _extras = features.raw_features(decoded.windows)
        except AudioError as exc:
            failed.append(f"{f.name}: {exc.message}")
            log.warning("skipped %s: %s", f, exc.message)
            continue
        raws.append(raw)
        used.append(f.name)
    if len(raws) < 2:
        raise SystemExit(f"need at least 2 analysable tracks, got {len(raws)} of {len(files)}")
    mean, std = fit(np.array(raws))
    data = {
        "extractor": features.EXTRACTOR,
        "version": features.VERSION,
        "names": features.feature_names(),
        "mean": [round(float(v), 6) for v in mean],
        "std": [round(float(v), 6) for v in std],
        "fittedOn": {"tracks": len(used), "files": used},
    }
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    log.info(
        "fitted on %d tracks (%d skipped) in %.1f s → %s",
        len(used),
        len(failed),
        time.perf_counter() - t0,
        out,
    )
    return {"tracks": len(used), "skipped": failed, "out": str(out)}


def _cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    result = main(args.paths, args.out)
    for line in result["skipped"]:
        print("skipped", line, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(_cli())
