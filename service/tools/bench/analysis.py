"""Bench, audio side: generated test music, our extractor vs the replaced service's pipeline, ingest."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from service.tools.reference import REFERENCE_N_MFCC, REFERENCE_SR, replaced_features
from service.tools.synth import synth_track, write_audio

Log = Callable[[str], None]

GEN_RATE = 44100  # like most real files: the decoders resample to 22,050 Hz as they would in production


# --- generated music -------------------------------------------------------------------------------------
def generate_music(folder: Path, count: int, seconds: float, seed: int, log: Log) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(count):
        y, genre = synth_track(seconds, GEN_RATE, seed * 1000 + i)
        tags = {
            "title": f"Bench {i}",
            "artist": f"Generator {i % 3}",
            "album": f"Bench {genre}",
            "genre": genre,
            "date": str(2000 + i % 25),
        }
        out.append(write_audio(folder / f"bench{i:03d}.ogg", y, GEN_RATE, tags))
        log(f"generated {i + 1}/{count} tracks ({seconds:.0f} s each)")
    return out


def pick_evenly(files: list[Path], count: int) -> list[Path]:
    """`count` files spread over the (sorted) list, so every sub-folder gets its share."""
    if count >= len(files):
        return list(files)
    idx = np.unique(np.linspace(0, len(files) - 1, count).round().astype(int))
    return [files[i] for i in idx]


# --- analysis: ours vs the reference ----------------------------------------------------------------------
def ours(path: Path) -> tuple[float, float, float, float, float]:
    """(decode s, DSP features s, embedding front end s, embedding network s, audio duration s) of musicrec's
    analysis of one file: one decode feeds both vectors."""
    from service.analysis import decode, embedding, features

    t0 = time.perf_counter()
    decoded = decode.decode_for_analysis(path)
    t1 = time.perf_counter()
    features.analyse(decoded.windows, decode.SAMPLE_RATE)
    t2 = time.perf_counter()
    batch = embedding.window_patches(decoded.windows, decode.SAMPLE_RATE)
    t3 = time.perf_counter()
    embedding.embed_patches(batch)
    t4 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t2, t4 - t3, decoded.duration_s


def reference(path: Path) -> tuple[float, float, float]:
    """(load s, features s, audio duration s) of the replaced service's pipeline on one file."""
    _vector, load_s, features_s, duration_s = replaced_features(path)
    return load_s, features_s, duration_s


def _warm_file(folder: Path) -> Path:
    y, _ = synth_track(8.0, GEN_RATE, 999)
    return write_audio(folder / "warmup.ogg", y, GEN_RATE, {"title": "warm-up"})


def bench_analysis(files: list[Path], tmp: Path, log: Log) -> dict[str, Any]:
    for f in files:  # both pipelines then read from the page cache, whichever goes first
        f.read_bytes()
    warm = _warm_file(tmp)
    t = time.perf_counter()
    ours(warm)
    ours_warm = time.perf_counter() - t
    log("reference pipeline: warming up librosa (numba JIT)")
    t = time.perf_counter()
    reference(warm)
    ref_warm = time.perf_counter() - t

    rows: list[tuple[float, ...]] = []
    failures: list[dict[str, str]] = []
    for i, f in enumerate(files):
        try:
            # alternate which pipeline goes first, so neither always gets the warmer caches
            if i % 2 == 0:
                d, feat, mel, net, dur = ours(f)
                load, ref_feat, _ = reference(f)
            else:
                load, ref_feat, _ = reference(f)
                d, feat, mel, net, dur = ours(f)
        except Exception as exc:  # one odd file (or a reference decoder failure) must not end the bench
            failures.append({"path": str(f), "error": f"{type(exc).__name__}: {exc}"[:200]})
            continue
        rows.append((d, feat, load, ref_feat, dur, mel, net))
        log(
            f"analysis {i + 1}/{len(files)}: ours {(d + feat + mel + net) * 1000:.0f} ms "
            f"(DSP only {(d + feat) * 1000:.0f} ms), reference {load + ref_feat:.2f} s"
        )
    if not rows:
        raise RuntimeError(f"no file could be analysed: {failures[:3]}")
    a = np.asarray(rows)
    n = len(rows)
    audio_s = float(a[:, 4].sum())
    dsp_only = float(a[:, 0].sum() + a[:, 1].sum())
    ours_total = dsp_only + float(a[:, 5].sum() + a[:, 6].sum())
    ref_total = float(a[:, 2].sum() + a[:, 3].sum())
    return {
        "files": n,
        "failed": failures,
        "audioSeconds": round(audio_s, 1),
        "meanTrackSeconds": round(audio_s / n, 1),
        "ours": {
            "perTrackS": ours_total / n,
            "decodePerTrackS": float(a[:, 0].mean()),
            "featuresPerTrackS": float(a[:, 1].mean()),
            "melPerTrackS": float(a[:, 5].mean()),
            "networkPerTrackS": float(a[:, 6].mean()),
            "dspOnlyPerTrackS": dsp_only / n,
            "bothOverDspOnlyX": ours_total / dsp_only,
            "xRealtime": audio_s / ours_total,
            "warmupS": ours_warm,
            "what": "analysis.decode.decode_for_analysis (3 x 10 s windows, seeking) + analysis.features.analyse "
            "(DSP) + the embedding: resample to 16 kHz, log-mel patches, musicnn's network (onnxruntime, 6 patches)",
        },
        "reference": {
            "perTrackS": ref_total / n,
            "loadPerTrackS": float(a[:, 2].mean()),
            "featuresPerTrackS": float(a[:, 3].mean()),
            "xRealtime": audio_s / ref_total,
            "warmupS": ref_warm,
            "what": f"librosa.load(sr={REFERENCE_SR}) of the whole file + mfcc(n_mfcc={REFERENCE_N_MFCC}), "
            "chroma_stft, spectral_centroid, spectral_bandwidth, rms, zero_crossing_rate, beat.beat_track",
        },
        "cheaperX": ref_total / ours_total,
    }


# --- ingest end to end ------------------------------------------------------------------------------------
def bench_ingest(files: list[Path], tmp: Path, log: Log) -> tuple[dict[str, Any], np.ndarray | None]:
    """`service.catalog.ingest.ingest` (both vectors) into fresh embedded stores with 1 worker and with all cores.
    Returns the figures and the analysed DSP vectors (to shape the synthetic catalogue)."""
    from service.analysis.vectorset import DSP, VectorSet
    from service.catalog.ingest import ingest
    from service.catalog.sinks import StoreSink
    from service.settings import Settings
    from service.store import open_store

    cores = os.cpu_count() or 1
    runs: dict[str, dict[str, Any]] = {}
    vectors = None
    for label, workers in (("oneWorker", 1), ("allCores", cores)):
        log(f"ingest: {len(files)} files with {workers} worker(s)")
        store = open_store(Settings(data_dir=tmp / f"ingest-{workers}"))
        try:
            summary = ingest(files, StoreSink(store, VectorSet()), workers=workers)
            if label == "allCores":
                records, _ = store.scroll("tracks", limit=max(len(files), 1), with_vector=DSP)
                if records:
                    vectors = np.asarray([r.vector for r in records], np.float32)
        finally:
            store.close()
        runs[label] = {
            "workers": workers,
            "seconds": summary.seconds,
            "ok": summary.ok,
            "failed": summary.failed,
            "tracksPerMin": summary.ok / summary.seconds * 60 if summary.seconds else 0.0,
        }
        log(f"ingest: {runs[label]['tracksPerMin']:.0f} tracks/min with {workers} worker(s)")
    one = runs["oneWorker"]["tracksPerMin"]
    return {
        "files": len(files),
        **runs,
        "allCoresOverOneX": runs["allCores"]["tracksPerMin"] / one if one else None,
    }, vectors
