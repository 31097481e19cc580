"""Offline recommendation quality on real music: `musicrec quality DIR`.

Not a pass/fail test: a report to tune on. Labels are the first folder under DIR (put each album or
soundtrack in its own folder; tags are too unreliable for this), album tags for files at the top.
Two questions, every method side by side in one run:
1. similar tracks — leave-one-out precision@10 of "same album" among the nearest neighbours;
2. per-user — simulated users whose library is half of two albums; how many of their top 20 are
   held-out tracks of those albums (precision@20) and how much of the held-out part is found (recall).
"""

from __future__ import annotations

import os
import tempfile
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from service.catalog.files import discover
from service.errors import AudioError
from service.vectors import normalise

K_SIMILAR = 10
K_USER = 20


@dataclass
class Item:
    path: str
    label: str
    raw: np.ndarray  # features v1, unscaled
    vector: np.ndarray  # features v1 as stored (scaled, weighted)
    replaced: np.ndarray | None  # the replaced service's 30 unscaled means
    embedding: np.ndarray  # musicnn_v1, the learned embedding (raw mean of the patches' penultimate layer)
    tempo: float
    duration: float


def _label(path: Path, root: Path, album: str | None) -> str:
    """The first folder under the root (one album per folder); files at the top use their album tag."""
    rel = path.relative_to(root)
    if len(rel.parts) > 1:
        return rel.parts[0]
    return album or root.name


def _analyse(args: tuple[str, str, bool]) -> Item | str:
    path, root, with_reference = args
    from service.analysis import decode, embedding, features
    from service.tools.reference import replaced_features

    try:
        decoded = decode.decode_for_analysis(path)
        analysis = features.analyse(decoded.windows, decode.SAMPLE_RATE)
        embedded = embedding.embed(decoded.windows, decode.SAMPLE_RATE)
        replaced = replaced_features(path)[0] if with_reference else None
    except AudioError as exc:
        return f"{path}: {exc.message}"
    return Item(
        path=path,
        label=_label(Path(path), Path(root), decoded.tags.album),
        raw=analysis.raw,
        vector=analysis.vector,
        replaced=replaced,
        embedding=embedded.vector,
        tempo=analysis.tempo,
        duration=decoded.duration_s,
    )


def analyse_folder(root: Path, *, with_reference: bool, workers: int) -> tuple[list[Item], list[str]]:
    paths = [str(p) for p, err in discover([root]) if err is None]
    with ProcessPoolExecutor(workers) as pool:
        results = list(pool.map(_analyse, [(p, str(root), with_reference) for p in paths]))
    return [r for r in results if isinstance(r, Item)], [r for r in results if isinstance(r, str)]


def loo_precision(x: np.ndarray, labels: list[str], k: int = K_SIMILAR) -> tuple[float, dict[str, float]]:
    """Leave-one-out precision@k of same-label neighbours under cosine similarity."""
    unit = normalise(np.asarray(x, np.float64))
    sims = unit @ unit.T
    np.fill_diagonal(sims, -np.inf)
    lab = np.asarray(labels)
    per_item = []
    for i in range(len(lab)):
        top = np.argsort(-sims[i])[:k]
        per_item.append(float(np.mean(lab[top] == lab[i])))
    per_label = {str(a): float(np.mean([p for p, la in zip(per_item, lab, strict=True) if la == a])) for a in set(lab)}
    return float(np.mean(per_item)), per_label


def variants(items: list[Item]) -> dict[str, np.ndarray]:
    from service.analysis import features

    raw = np.stack([it.raw for it in items])
    mean, std = features._scaler()
    out: dict[str, np.ndarray] = {}
    if all(it.replaced is not None for it in items):
        out["previous service: 30 unscaled librosa means"] = np.stack([it.replaced for it in items])
    out["features v1, unscaled"] = raw
    out["features v1, standardised"] = (raw - mean) / std
    out["features v1, standardised + group weights (shipped)"] = np.stack([it.vector for it in items])
    emb = np.stack([it.embedding for it in items]).astype(np.float64)
    out["musicnn_v1 embedding, raw"] = emb
    out["musicnn_v1 embedding, centred on this catalogue's mean"] = centred = emb - emb.mean(axis=0)
    # two unit vectors side by side, each scaled by √½: the cosine is ½·cos(features) + ½·cos(embedding)
    fused = np.hstack([normalise(out["features v1, standardised + group weights (shipped)"]), normalise(centred)])
    out["fused: ½ cos(features v1 shipped) + ½ cos(embedding centred)"] = fused * np.sqrt(0.5)
    return out


def make_users(labels: list[str], n_users: int, seed: int) -> list[tuple[list[int], list[int]]]:
    """(library, held-out) index lists: half of each of two albums (albums with ≥ 4 tracks)."""
    rng = np.random.default_rng(seed)
    by_label: dict[str, list[int]] = {}
    for i, la in enumerate(labels):
        by_label.setdefault(la, []).append(i)
    albums = sorted(a for a, idx in by_label.items() if len(idx) >= 4)
    users = []
    for _ in range(n_users if len(albums) >= 2 else 0):
        chosen = rng.choice(len(albums), size=2, replace=False)
        library, held = [], []
        for a in chosen:
            idx = list(rng.permutation(by_label[albums[a]]))
            half = len(idx) // 2
            library += idx[:half]
            held += idx[half:]
        users.append(([int(i) for i in library], [int(i) for i in held]))
    return users


def _score(top: list[int], held: list[int]) -> tuple[float, float]:
    hits = len(set(top) & set(held))
    return hits / max(len(top), 1), hits / min(len(held), K_USER)


def centroid_users(x: np.ndarray, users) -> tuple[float, float]:
    """The replaced service's per-user method: the mean of the library, nearest by cosine."""
    unit = normalise(np.asarray(x, np.float64))
    scores = []
    for library, held in users:
        c = normalise(unit[library].mean(axis=0))
        sims = unit @ c
        sims[library] = -np.inf
        scores.append(_score(list(np.argsort(-sims)[:K_USER]), held))
    return tuple(np.mean(scores, axis=0)) if scores else (0.0, 0.0)


def service_users(items: list[Item], users) -> tuple[float, float]:
    """musicrec's own per-user path: library points in a real embedded store, Recommender.recommend."""
    from service.catalog.vector import track_vector
    from service.recommend.recommender import Recommender, RecommendOptions
    from service.settings import Settings
    from service.store import open_store
    from service.store.base import PointData, Record
    from service.taste.library import add_to_library

    name, size = track_vector()
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Settings(data_dir=Path(tmp)))
        try:
            ids = [str(uuid.uuid5(uuid.NAMESPACE_URL, it.path)) for it in items]
            points = [
                PointData(
                    id=tid,
                    payload={
                        "trackId": tid,
                        "title": Path(it.path).stem,
                        "artists": [],
                        "album": it.label,
                        "genres": [],
                        "tempo": it.tempo,
                        "durationS": it.duration,
                    },
                    vectors={name: it.vector.tolist()},
                )
                for tid, it in zip(ids, items, strict=True)
            ]
            store.upsert("tracks", points)
            rec = Recommender(store, name, size)
            index = {tid: i for i, tid in enumerate(ids)}
            scores = []
            for u, (library, held) in enumerate(users):
                user = f"sim-{u}"
                tracks = [
                    Record(id=ids[i], payload=points[i].payload, vector=items[i].vector.tolist()) for i in library
                ]
                add_to_library(store, user, tracks, name, add=["saved"])
                got, _ = rec.recommend(
                    user_id=user,
                    seed_ids=(),
                    negative_ids=(),
                    exclude_known=True,
                    options=RecommendOptions(limit=K_USER),
                )
                scores.append(_score([index[g.payload["trackId"]] for g in got], held))
        finally:
            store.close()
    return tuple(np.mean(scores, axis=0)) if scores else (0.0, 0.0)


def run(
    root: Path, *, with_reference: bool = True, n_users: int = 40, seed: int = 0, workers: int | None = None
) -> dict[str, Any]:
    items, failures = analyse_folder(root, with_reference=with_reference, workers=workers or os.cpu_count() or 1)
    labels = [it.label for it in items]
    report: dict[str, Any] = {
        "folder": str(root),
        "tracks": len(items),
        "labels": {la: labels.count(la) for la in sorted(set(labels))},
        "skipped": failures,
        "similar": {},
        "users": {},
    }
    for name, x in variants(items).items():
        overall, per_label = loo_precision(x, labels)
        report["similar"][name] = {
            "precisionAt10": round(overall, 3),
            "perLabel": {k: round(v, 3) for k, v in sorted(per_label.items())},
        }
    chance = float(np.mean([(labels.count(la) - 1) / (len(labels) - 1) for la in labels])) if len(labels) > 1 else 0
    report["similar"]["random"] = {"precisionAt10": round(chance, 3), "perLabel": {}}
    users = make_users(labels, n_users, seed)
    report["users"]["n"] = len(users)
    vs = variants(items)
    if "previous service: 30 unscaled librosa means" in vs:
        p, r = centroid_users(vs["previous service: 30 unscaled librosa means"], users)
        report["users"]["previous service: library mean, unscaled, cosine"] = {
            "precisionAt20": round(p, 3),
            "recall": round(r, 3),
        }
    p, r = centroid_users(vs["features v1, standardised + group weights (shipped)"], users)
    report["users"]["features v1: library mean"] = {"precisionAt20": round(p, 3), "recall": round(r, 3)}
    p, r = service_users(items, users)
    report["users"]["musicrec taste (clusters + recommend queries)"] = {
        "precisionAt20": round(p, 3),
        "recall": round(r, 3),
    }
    return report


def render(report: dict[str, Any]) -> str:
    lines = [
        f"{report['tracks']} tracks in {len(report['labels'])} albums: "
        + ", ".join(f"{k} ({v})" for k, v in report["labels"].items())
    ]
    if report["skipped"]:
        lines.append(f"skipped {len(report['skipped'])}: " + "; ".join(report["skipped"]))
    lines += ["", "| similar tracks: method | precision@10 (same album) |", "|---|---|"]
    for name, v in report["similar"].items():
        lines.append(f"| {name} | {v['precisionAt10']:.3f} |")
    lines += [
        "",
        f"| per-user ({report['users']['n']} simulated users, 2 albums, half held out) | precision@20 | "
        "recall of held-out |",
        "|---|---|---|",
    ]
    for name, v in report["users"].items():
        if name != "n":
            lines.append(f"| {name} | {v['precisionAt20']:.3f} | {v['recall']:.3f} |")
    return "\n".join(lines)
