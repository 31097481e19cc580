"""Measure the musicnn_v1 embedding beside the DSP features: cost per track per stage, and similar-track quality.

Not part of the service (never imported by it); issue 10, phase 1. Usage:

    .venv/bin/python scripts/measure_embedding.py /tmp/albums \
        --held-out fretsonfire-muldjord,fretsonfire-sectoid,tecnoballz,fb-music-high \
        --cache /tmp/embedding_measure.pkl --timing 30

ALBUMS is a folder of album folders (one album per first-level folder, as `musicrec quality`). The split is
fixed up front: --held-out names the held-out albums, every other album is a tuning album; anything chosen by
looking at scores (the fusion weight) is chosen on the tuning albums only and then applied unchanged to the
held-out ones. Each split is scored as its own catalogue (centring and z-scoring use that catalogue's own
statistics, as a deployed catalogue would), and the whole collection once more as one catalogue.

Quality: leave-one-out precision@10 of "same album" under cosine (albums of one track are candidates only).
Cost: a sequential pass on one core (OPENBLAS_NUM_THREADS=1, onnxruntime with one thread) over the first
--timing tracks that are 44.1 kHz stereo, after one warm-up track: decode (PyAV, the 3 × 10 s windows),
DSP features, embedding front end (resample to 16 kHz + log-mel + patches), network (onnxruntime, 6 patches).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import pickle  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

K = 10


def _label(path: Path, root: Path) -> str:
    return path.relative_to(root).parts[0]


def _whole_track_embedding(path: str) -> np.ndarray:
    """musicnn's own use: the whole track, non-overlapping 3 s patches from the start (input_overlap=False)."""
    from service.analysis import decode
    from service.analysis import embedding as E
    from service.analysis.embedding_spec import PATCH_FRAMES

    with decode._open(path) as container:
        audio = decode._decode_sequential(container, decode._audio_stream(container), 900.0)
    mel = E.log_mel(E.resample(audio, decode.SAMPLE_RATE))
    starts = range(0, max(1, mel.shape[0] - PATCH_FRAMES + 1), PATCH_FRAMES)
    batch = np.stack([np.pad(mel[s : s + PATCH_FRAMES], ((0, max(0, PATCH_FRAMES - mel[s:].shape[0])), (0, 0)))
                      for s in starts])  # fmt: skip
    pen = np.concatenate([E.embed_patches(batch[i : i + 32])[0] for i in range(0, len(batch), 32)])
    return pen.mean(axis=0)


def analyse(args: tuple[str, str, bool]) -> dict:
    path, root, with_reference, with_whole = args
    import av

    from service.analysis import decode, features
    from service.analysis import embedding as E
    from service.errors import AudioError

    with av.open(path) as c:
        s = c.streams.audio[0]
        rate, channels = s.rate, s.channels
    times = {}
    try:
        t0 = time.perf_counter()
        decoded = decode.decode_for_analysis(path)
        t1 = time.perf_counter()
        analysis = features.analyse(decoded.windows, decode.SAMPLE_RATE)
        t2 = time.perf_counter()
        batch = E.patches([E.resample(w, decode.SAMPLE_RATE) for w in decoded.windows])
        t3 = time.perf_counter()
        pen, tags = E.embed_patches(batch)
        t4 = time.perf_counter()
    except AudioError as exc:
        return {"path": path, "error": exc.message}
    times = {"decode": t1 - t0, "dsp": t2 - t1, "frontend": t3 - t2, "network": t4 - t3, "patches": len(batch)}
    out = {
        "path": path,
        "label": _label(Path(path), Path(root)),
        "rate": rate,
        "channels": channels,
        "duration": decoded.duration_s,
        "dsp": analysis.vector,
        "emb": pen.mean(axis=0),
        "tags": tags.mean(axis=0),
        "times": times,
    }
    if with_reference:
        from service.tools.reference import replaced_features

        out["replaced"], load_s, feat_s, _ = replaced_features(path)
        out["times"].update({"replaced_load": load_s, "replaced_features": feat_s})
    if with_whole:
        t5 = time.perf_counter()
        out["whole"] = _whole_track_embedding(path)
        out["times"]["whole_track_embedding"] = time.perf_counter() - t5
    return out


# ---------------------------------------------------------------------------------------------------------
# scoring


def unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def cos_matrix(x: np.ndarray) -> np.ndarray:
    u = unit(x)
    return u @ u.T


def loo_precision(sims: np.ndarray, labels: list[str], k: int = K) -> tuple[float, dict[str, float]]:
    lab = np.asarray(labels)
    sims = sims.copy()
    np.fill_diagonal(sims, -np.inf)
    per = {}
    for i in range(len(lab)):
        if (lab == lab[i]).sum() < 2:
            continue  # a one-track album can only be a candidate
        top = np.argsort(-sims[i], kind="stable")[: min(k, len(lab) - 1)]  # self sorts last (-inf)
        per[i] = float(np.sum(lab[top] == lab[i])) / k
    by_album = {a: float(np.mean([p for i, p in per.items() if lab[i] == a])) for a in sorted(set(lab[list(per)]))}
    return float(np.mean(list(per.values()))), by_album


def chance(labels: list[str]) -> float:
    lab = np.asarray(labels)
    q = [i for i in range(len(lab)) if (lab == lab[i]).sum() >= 2]
    return float(np.mean([((lab == lab[i]).sum() - 1) / (len(lab) - 1) for i in q]))


def ceiling(labels: list[str], k: int = K) -> float:
    lab = np.asarray(labels)
    q = [i for i in range(len(lab)) if (lab == lab[i]).sum() >= 2]
    return float(np.mean([min(k, (lab == lab[i]).sum() - 1) / k for i in q]))


def method_sims(items: list[dict]) -> dict[str, np.ndarray]:
    """Similarity matrices of every method, statistics from this catalogue only."""
    emb = np.stack([it["emb"] for it in items]).astype(np.float64)
    mean, std = emb.mean(axis=0), emb.std(axis=0)
    std = np.where(std > 1e-6, std, 1.0)
    out = {}
    if all("replaced" in it for it in items):
        out["replaced service (30 unscaled librosa means)"] = cos_matrix(np.stack([it["replaced"] for it in items]))
    out["DSP librosa_v1 (shipped)"] = cos_matrix(np.stack([it["dsp"] for it in items]))
    out["embedding raw"] = cos_matrix(emb)
    out["embedding centred"] = cos_matrix(emb - mean)
    out["embedding z-scored"] = cos_matrix((emb - mean) / std)
    if all("whole" in it for it in items):
        whole = np.stack([it["whole"] for it in items]).astype(np.float64)
        out["embedding whole track (musicnn's patches), centred"] = cos_matrix(whole - whole.mean(axis=0))
    tags = np.stack([it["tags"] for it in items]).astype(np.float64)
    out["tag probabilities (50-d), centred"] = cos_matrix(tags - tags.mean(axis=0))
    return out


def fused(sims: dict[str, np.ndarray], emb_key: str, w: float) -> np.ndarray:
    return w * sims["DSP librosa_v1 (shipped)"] + (1.0 - w) * sims[emb_key]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("albums", type=Path)
    ap.add_argument("--held-out", required=True, help="comma-separated album folder names")
    ap.add_argument("--cache", type=Path, help="pickle of the per-track analysis (reused when present)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--timing", type=int, default=30, help="44.1 kHz stereo tracks timed sequentially (0: none)")
    ap.add_argument("--no-reference", action="store_true", help="skip the replaced method (librosa, slow)")
    ap.add_argument("--whole", action="store_true", help="also musicnn's whole-track embedding (slow: ~60 patches)")
    ap.add_argument("--json", type=Path, help="write the full report here")
    args = ap.parse_args()
    root = args.albums.absolute()
    held_out = set(args.held_out.split(","))

    from service.catalog.ingest import discover

    paths = [str(p) for p, err in discover([root]) if err is None]
    if args.cache and args.cache.exists():
        items = pickle.loads(args.cache.read_bytes())
    else:
        if not args.no_reference:  # compile librosa's numba kernels once here, before the pool forks: two
            from service.tools.reference import replaced_features  # workers writing one numba cache at once

            replaced_features(paths[0])  # left it corrupt here once (librosa.beat_track then segfaulted)
        with ProcessPoolExecutor(args.workers) as pool:
            jobs = [(p, str(root), not args.no_reference, args.whole) for p in paths]
            items = list(pool.map(analyse, jobs, chunksize=1))
        if args.cache:
            args.cache.write_bytes(pickle.dumps(items))
    failed = [it for it in items if "error" in it]
    items = [it for it in items if "error" not in it]
    report: dict = {"tracks": len(items), "failed": [(it["path"], it["error"]) for it in failed]}

    # --- cost, sequential, one core ---
    if args.timing:
        stereo44 = [it["path"] for it in items if it["rate"] == 44100 and it["channels"] == 2][: args.timing + 1]
        rows = [analyse((p, str(root), False, False))["times"] for p in stereo44]
        rows = rows[1:]  # the first one pays the session's creation and the filter designs
        cost = {}
        for key in ("decode", "dsp", "frontend", "network"):
            v = np.array([r[key] for r in rows]) * 1000
            cost[key] = {"median_ms": round(float(np.median(v)), 1), "mean_ms": round(float(v.mean()), 1)}
        total = np.array([sum(r[k] for k in ("decode", "dsp", "frontend", "network")) for r in rows]) * 1000
        cost["total"] = {"median_ms": round(float(np.median(total)), 1), "mean_ms": round(float(total.mean()), 1)}
        cost["tracks"] = len(rows)
        report["cost"] = cost
        sub = [it for it in items if it["path"] in set(stereo44[1:])]
        for key in ("replaced_load", "replaced_features", "whole_track_embedding"):
            if all(key in it["times"] for it in sub):
                v = np.array([it["times"][key] for it in sub]) * 1000
                cost[key + " (pool of 2, indicative)"] = {"median_ms": round(float(np.median(v)), 1)}

    # --- quality ---
    splits = {
        "tuning": [it for it in items if it["label"] not in held_out],
        "held-out": [it for it in items if it["label"] in held_out],
        "all": items,
    }
    report["split"] = {
        name: {la: sum(1 for it in sub if it["label"] == la) for la in sorted({it["label"] for it in sub})}
        for name, sub in splits.items()
    }
    # the fusion weight and the embedding variant it fuses, chosen on the tuning albums only
    tuning_sims = method_sims(splits["tuning"])
    labels_t = [it["label"] for it in splits["tuning"]]
    grid = [round(w, 2) for w in np.linspace(0.0, 1.0, 21)]
    best = max(
        ((loo_precision(fused(tuning_sims, key, w), labels_t)[0], key, w)
         for key in ("embedding centred", "embedding z-scored") for w in grid),
        key=lambda t: (round(t[0], 4), -abs(t[2] - 0.5)),
    )  # fmt: skip
    _, fuse_key, fuse_w = best
    report["fusion"] = {"embedding": fuse_key, "dspWeight": fuse_w}
    report["fusionCurve"] = {
        key: {w: round(loo_precision(fused(tuning_sims, key, w), labels_t)[0], 3) for w in grid}
        for key in ("embedding centred", "embedding z-scored")
    }
    report["quality"] = {}
    for name, sub in splits.items():
        labels = [it["label"] for it in sub]
        sims = method_sims(sub)
        sims[f"fused: {fuse_w:g}·cos(DSP) + {1 - fuse_w:g}·cos({fuse_key}) (weight from tuning)"] = fused(
            sims, fuse_key, fuse_w
        )
        sims[f"fused: 0.5·cos(DSP) + 0.5·cos({fuse_key})"] = fused(sims, fuse_key, 0.5)
        rows = {}
        for method, s in sims.items():
            p, per = loo_precision(s, labels)
            rows[method] = {"p10": round(p, 3), "perAlbum": {a: round(v, 3) for a, v in per.items()}}
        rows["random"] = {"p10": round(chance(labels), 3), "perAlbum": {}}
        rows["ceiling (album sizes)"] = {"p10": round(ceiling(labels), 3), "perAlbum": {}}
        report["quality"][name] = rows

    # the 6-patch embedding vs musicnn's whole-track mean, per track
    if all("whole" in it for it in items):
        c = [float(unit(it["emb"][None])[0] @ unit(it["whole"][None])[0]) for it in items]
        report["sixPatchesVsWholeTrackCosine"] = {"median": round(float(np.median(c)), 4), "min": round(min(c), 4)}

    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str))
    print(render(report))


def render(r: dict) -> str:
    lines = [f"{r['tracks']} tracks analysed; failed: {r['failed'] or 'none'}", ""]
    for name, split in r["split"].items():
        lines.append(f"{name}: {sum(split.values())} tracks, " + ", ".join(f"{a} ({n})" for a, n in split.items()))
    if "cost" in r:
        lines += ["", f"cost per track, one core, {r['cost']['tracks']} tracks 44.1 kHz stereo (ms):"]
        for k, v in r["cost"].items():
            if k != "tracks":
                lines.append(f"  {k}: " + ", ".join(f"{a} {b}" for a, b in v.items()))
    lines += ["", f"fusion chosen on tuning albums: {r['fusion']}"]
    names = list(r["quality"]["tuning"])
    lines += ["", "| similar tracks, precision@10 (same album) | tuning | held-out | all |", "|---|---|---|---|"]
    for m in names:
        cells = [f"{r['quality'][s].get(m, {}).get('p10', float('nan')):.3f}" for s in ("tuning", "held-out", "all")]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    if "sixPatchesVsWholeTrackCosine" in r:
        lines += ["", f"6-patch vs whole-track embedding cosine: {r['sixPatchesVsWholeTrackCosine']}"]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
