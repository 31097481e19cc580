"""Offline recommendation quality on real music: `musicrec quality DIR [--held-out ALBUM,...]`.

Not a pass/fail test: a report to tune on. Labels are the first folder under DIR (put each album or
soundtrack in its own folder; tags are too unreliable for this), album tags for files at the top.
Two questions, every method side by side in one run, on the same decoded files:
1. similar tracks: leave-one-out precision@10 of "same album" among the nearest neighbours;
2. per user: simulated users whose library is half of two albums; how many of their top 20 are
   held-out tracks of those albums (hit rate = precision@20) and how much of the held-out part is found (recall).

With --held-out, the albums named are a separate catalogue that no tuning decision may look at: each split
(tuning, held-out) is scored as its own catalogue, with its own statistics (the embedding's centre), as a
deployed catalogue would be. Tune on the tuning albums; report the held-out ones. A third view asks the held-out
albums' questions in the whole catalogue (every album a candidate, the centre of all tracks): a small held-out set
scored alone has a high chance level and a low ceiling (a 4-track album allows P@10 0.3 at best), which squeezes
every ratio towards 1; among all the albums, as in a real library, the same queries spread the methods apart.
"""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from service.analysis import centring
from service.analysis.vectorset import DSP, DSP_WEIGHT, EMBEDDING, EMBEDDING_RAW, VectorSet
from service.analysis.vectorset import FUSED as FUSED_VECTOR
from service.catalog.files import discover
from service.errors import AudioError
from service.vectors import normalise

K_SIMILAR = 10
K_USER = 20
MIN_ALBUMS_FOR_USERS = 4  # below this the simulated users all draw the same few albums: the table says little

PREVIOUS = "previous service: 30 unscaled librosa means"
DSP_V1 = "DSP features v1 (librosa_v1, shipped)"
EMBEDDING_ALONE = f"embedding alone ({EMBEDDING}, centred on the catalogue)"
FUSED = f"musicrec: {FUSED_VECTOR} = {DSP_WEIGHT:g}·cos(DSP) + {1 - DSP_WEIGHT:g}·cos(embedding) (shipped)"
RRF = "reciprocal rank fusion of DSP and embedding (k 60)"
SERVICE_USERS = f"musicrec taste (clusters + Qdrant recommend queries on {FUSED_VECTOR}, shipped)"
WHOLE = "held-out in the whole catalogue"


@dataclass
class Item:
    path: str
    label: str
    raw: np.ndarray  # DSP features v1, unscaled
    vector: np.ndarray  # DSP features v1 as stored (scaled, weighted)
    replaced: np.ndarray | None  # the replaced service's 30 unscaled means
    embedding: np.ndarray  # the raw embedding (musicnn_v2_raw): the mean of the patches' penultimate activations
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
    from service.analysis import decode
    from service.analysis.track import analyse_track
    from service.tools.reference import replaced_features

    try:
        decoded = decode.decode_for_analysis(path)
        analysis = analyse_track(decoded.windows, decode.SAMPLE_RATE, embedding=True)
        replaced = replaced_features(path)[0] if with_reference else None
    except AudioError as exc:
        return f"{path}: {exc.message}"
    assert analysis.dsp is not None
    return Item(
        path=path,
        label=_label(Path(path), Path(root), decoded.tags.album),
        raw=analysis.dsp.raw,
        vector=analysis.dsp.vector,
        replaced=replaced,
        embedding=np.asarray(analysis.vectors[EMBEDDING_RAW], np.float32),
        tempo=analysis.tempo,
        duration=decoded.duration_s,
    )


def analyse_folder(
    root: Path, *, with_reference: bool, workers: int, on_progress: Callable[[int, int], None] | None = None
) -> tuple[list[Item], list[str]]:
    paths = [str(p) for p, err in discover([root]) if err is None]
    results: list[Item | str] = []
    with ProcessPoolExecutor(workers) as pool:
        for result in pool.map(_analyse, [(p, str(root), with_reference) for p in paths]):
            results.append(result)
            if on_progress:
                on_progress(len(results), len(paths))
    return [r for r in results if isinstance(r, Item)], [r for r in results if isinstance(r, str)]


# --- scoring ----------------------------------------------------------------------------------------------
def _ranked(sims: np.ndarray) -> np.ndarray:
    s = np.array(sims, dtype=np.float64)
    np.fill_diagonal(s, -np.inf)
    return s


def loo_precision_sims(
    sims: np.ndarray, labels: list[str], k: int = K_SIMILAR, queries: frozenset[str] | None = None
) -> tuple[float, dict[str, float]]:
    """Leave-one-out precision@k of same-label neighbours under a similarity matrix; albums of one track are
    candidates only (nothing to find for them); with `queries`, only those albums' tracks ask (all are candidates)."""
    return summarise(query_precisions(sims, labels, k, queries), labels)


def summarise(per_item: dict[int, float], labels: list[str]) -> tuple[float, dict[str, float]]:
    """Overall and per-album mean of per-query precisions."""
    lab = np.asarray(labels)
    if not per_item:
        return 0.0, {}
    per_label = {
        str(a): float(np.mean([p for i, p in per_item.items() if lab[i] == a]))
        for a in sorted(set(lab[list(per_item)]))
    }
    return float(np.mean(list(per_item.values()))), per_label


def query_precisions(
    sims: np.ndarray, labels: list[str], k: int = K_SIMILAR, queries: frozenset[str] | None = None
) -> dict[int, float]:
    """Each query track's precision@k (see `loo_precision_sims`), by its index."""
    s = _ranked(sims)
    lab = np.asarray(labels)
    per_item: dict[int, float] = {}
    for i in range(len(lab)):
        if (lab == lab[i]).sum() < 2 or (queries is not None and lab[i] not in queries):
            continue
        top = np.argsort(-s[i], kind="stable")[:k]
        per_item[i] = float(np.mean(lab[top] == lab[i]))
    return per_item


def ratio_ci(ours: np.ndarray, previous: np.ndarray, *, rounds: int = 2000, seed: int = 0) -> dict[str, Any]:
    """mean(ours) / mean(previous) with a 95 % paired bootstrap interval over the questions (queries or users):
    how much of a ratio is the luck of a few dozen questions. Questions are not independent (tracks of one album
    resemble each other), so read it as a lower bound on the uncertainty."""
    ours, previous = np.asarray(ours, np.float64), np.asarray(previous, np.float64)
    if ours.size == 0 or previous.sum() == 0:
        return {"ratio": None, "ci95": None, "n": int(ours.size)}
    idx = np.random.default_rng(seed).integers(0, ours.size, (rounds, ours.size))
    num, den = ours[idx].mean(axis=1), previous[idx].mean(axis=1)
    ratios = num[den > 0] / den[den > 0]
    lo, hi = np.percentile(ratios, [2.5, 97.5])
    return {
        "ratio": round(float(ours.mean() / previous.mean()), 3),
        "ci95": [round(float(lo), 3), round(float(hi), 3)],
        "n": ours.size,
    }


def loo_precision(
    x: np.ndarray, labels: list[str], k: int = K_SIMILAR, queries: frozenset[str] | None = None
) -> tuple[float, dict[str, float]]:
    """Leave-one-out precision@k of same-label neighbours under cosine similarity."""
    unit = normalise(np.asarray(x, np.float64))
    return loo_precision_sims(unit @ unit.T, labels, k, queries)


def rrf(*sims: np.ndarray, k: int = 60) -> np.ndarray:
    """Reciprocal rank fusion of similarity matrices (rank 1 = most similar, self excluded)."""
    out = np.zeros_like(sims[0], dtype=np.float64)
    for s in sims:
        ranks = np.argsort(np.argsort(-_ranked(s), axis=1, kind="stable"), axis=1)
        out += 1.0 / (k + ranks + 1)
    return out


def chance(labels: list[str], queries: frozenset[str] | None = None) -> float:
    lab = np.asarray(labels)
    queries = [i for i in range(len(lab)) if (lab == lab[i]).sum() >= 2 and (queries is None or lab[i] in queries)]
    if len(lab) < 2 or not queries:
        return 0.0
    return float(np.mean([((lab == lab[i]).sum() - 1) / (len(lab) - 1) for i in queries]))


def vectors_of(items: list[Item]) -> dict[str, np.ndarray]:
    """Every method's vectors for one catalogue (the embedding centred on this catalogue's own mean)."""
    emb = np.stack([it.embedding for it in items]).astype(np.float64)
    centred = centring.centred(emb, centring.centre_of(emb))
    dsp = np.stack([it.vector for it in items])
    out: dict[str, np.ndarray] = {}
    if all(it.replaced is not None for it in items):
        out[PREVIOUS] = np.stack([it.replaced for it in items])
    out[DSP_V1] = dsp
    out[EMBEDDING_ALONE] = centred
    out[FUSED] = centring.fuse(dsp, centred)
    return out


def make_users(
    labels: list[str], n_users: int, seed: int, albums_from: frozenset[str] | None = None
) -> list[tuple[list[int], list[int]]]:
    """(library, held-out) index lists: half of each of two albums (albums with ≥ 4 tracks; of `albums_from`)."""
    rng = np.random.default_rng(seed)
    by_label: dict[str, list[int]] = {}
    for i, la in enumerate(labels):
        by_label.setdefault(la, []).append(i)
    albums = sorted(a for a, idx in by_label.items() if len(idx) >= 4 and (albums_from is None or a in albums_from))
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


def _mean(scores: np.ndarray) -> tuple[float, float]:
    return tuple(np.mean(scores, axis=0)) if len(scores) else (0.0, 0.0)


def centroid_user_scores(x: np.ndarray, users) -> np.ndarray:
    """(users, 2) hit rate and recall of the replaced service's per-user method: the mean of the library,
    nearest by cosine."""
    unit = normalise(np.asarray(x, np.float64))
    scores = []
    for library, held in users:
        c = normalise(unit[library].mean(axis=0))
        sims = unit @ c
        sims[library] = -np.inf
        scores.append(_score(list(np.argsort(-sims)[:K_USER]), held))
    return np.asarray(scores, np.float64).reshape(-1, 2)


def centroid_users(x: np.ndarray, users) -> tuple[float, float]:
    return _mean(centroid_user_scores(x, users))


def nearest_liked_users(x: np.ndarray, users) -> tuple[float, float]:
    """Each candidate scored by its closest library track (the baseline the issue names)."""
    unit = normalise(np.asarray(x, np.float64))
    scores = []
    for library, held in users:
        sims = (unit @ unit[library].T).max(axis=1)
        sims[library] = -np.inf
        scores.append(_score(list(np.argsort(-sims)[:K_USER]), held))
    return tuple(np.mean(scores, axis=0)) if scores else (0.0, 0.0)


def service_user_scores(items: list[Item], users) -> np.ndarray:
    """(users, 2): musicrec's own per-user path, end to end: the tracks stored through the ingest's sink into a
    real embedded store (the catalogue's centre fitted as in production), library points, `Recommender.recommend`."""
    from service.catalog.sinks import StoreSink
    from service.recommend.recommender import Recommender, RecommendOptions
    from service.settings import Settings
    from service.store import open_store
    from service.store.base import PointData
    from service.store.schema import TRACKS
    from service.taste.library import add_to_library

    vectors = VectorSet(embedding=True)
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Settings(data_dir=Path(tmp), min_free_mb=0))
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
                    vectors={DSP: it.vector.tolist(), EMBEDDING_RAW: it.embedding.tolist()},
                )
                for tid, it in zip(ids, items, strict=True)
            ]
            sink = StoreSink(store, vectors)
            sink.store(points, None)
            sink.finish()  # the catalogue's own centre, as after an ingest
            rec = Recommender(store, vectors.query, vectors.query_size)
            index = {tid: i for i, tid in enumerate(ids)}
            scores = []
            for u, (library, held) in enumerate(users):
                user = f"sim-{u}"
                tracks = store.retrieve(TRACKS, [ids[i] for i in library], with_vector=vectors.query)
                add_to_library(store, user, tracks, vectors.query, add=["saved"])
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
    return np.asarray(scores, np.float64).reshape(-1, 2)


def _round(pair: tuple[float, float]) -> dict[str, float]:
    return {"hitRateAt20": round(float(pair[0]), 3), "recall": round(float(pair[1]), 3)}


def score_catalogue(
    items: list[Item], *, n_users: int, seed: int, query_albums: frozenset[str] | None = None
) -> dict[str, Any]:
    """Every method on one catalogue: similar P@10 (overall and per album) and the simulated users; with
    `query_albums`, only those albums' tracks are queries and only their albums make users (all tracks are
    candidates)."""
    labels = [it.label for it in items]
    vs = vectors_of(items)
    sims = {name: normalise(x.astype(np.float64)) @ normalise(x.astype(np.float64)).T for name, x in vs.items()}
    sims[RRF] = rrf(sims[DSP_V1], sims[EMBEDDING_ALONE])
    per_query = {name: query_precisions(s, labels, queries=query_albums) for name, s in sims.items()}
    similar: dict[str, Any] = {}
    for name, per_item in per_query.items():
        overall, per_label = summarise(per_item, labels)
        similar[name] = {"precisionAt10": round(overall, 3), "perAlbum": {k: round(v, 3) for k, v in per_label.items()}}
    similar["random"] = {"precisionAt10": round(chance(labels, query_albums), 3), "perAlbum": {}}
    compared: dict[str, Any] = {}
    if PREVIOUS in sims:
        ours, previous = per_query[FUSED], per_query[PREVIOUS]
        order = sorted(ours)
        compared["similar"] = ratio_ci([ours[i] for i in order], [previous[i] for i in order], seed=seed)
    users = make_users(labels, n_users, seed, query_albums)
    albums = sorted({la for la in labels if labels.count(la) >= 4 and (query_albums is None or la in query_albums)})
    out_users: dict[str, Any] = {"n": len(users), "albumsWithFourTracks": len(albums)}
    if users:
        previous_users = centroid_user_scores(vs[PREVIOUS], users) if PREVIOUS in vs else None
        if previous_users is not None:
            out_users[f"{PREVIOUS}: library mean"] = _round(_mean(previous_users))
        out_users[f"{DSP_V1}: library mean"] = _round(centroid_users(vs[DSP_V1], users))
        out_users[f"{EMBEDDING_ALONE}: library mean"] = _round(centroid_users(vs[EMBEDDING_ALONE], users))
        out_users[f"{FUSED}: library mean"] = _round(centroid_users(vs[FUSED], users))
        out_users[f"{FUSED}: nearest liked track"] = _round(nearest_liked_users(vs[FUSED], users))
        shipped = service_user_scores(items, users)
        out_users[SERVICE_USERS] = _round(_mean(shipped))
        if previous_users is not None:
            compared["users"] = ratio_ci(shipped[:, 0], previous_users[:, 0], seed=seed)
    queried = [la for la in labels if query_albums is None or la in query_albums]
    return {
        "tracks": len(items),
        "queryTracks": len(queried),
        "labels": {la: queried.count(la) for la in sorted(set(queried))},
        "similar": similar,
        "users": out_users,
        "shippedVsPrevious": compared,
    }


def run(
    root: Path,
    *,
    with_reference: bool = True,
    n_users: int = 40,
    seed: int = 0,
    workers: int | None = None,
    held_out: frozenset[str] = frozenset(),
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    items, failures = analyse_folder(
        root, with_reference=with_reference, workers=workers or os.cpu_count() or 1, on_progress=on_progress
    )
    unknown = sorted(held_out - {it.label for it in items})
    splits: dict[str, list[Item]] = {"all": items}
    if held_out:
        splits = {
            "tuning": [it for it in items if it.label not in held_out],
            "held-out": [it for it in items if it.label in held_out],
        }
    scored = {name: score_catalogue(sub, n_users=n_users, seed=seed) for name, sub in splits.items() if sub}
    if held_out and splits["held-out"] and splits["tuning"]:
        scored[WHOLE] = score_catalogue(items, n_users=n_users, seed=seed, query_albums=held_out)
    report: dict[str, Any] = {
        "folder": str(root),
        "tracks": len(items),
        "skipped": failures,
        "unknownHeldOut": unknown,
        "splits": scored,
    }
    report["warnings"] = [
        f"{name}: only {s['users']['albumsWithFourTracks']} album(s) with 4 or more tracks: the per-user table "
        f"says little (give at least {MIN_ALBUMS_FOR_USERS})"
        for name, s in report["splits"].items()
        if s["users"]["albumsWithFourTracks"] < MIN_ALBUMS_FOR_USERS
    ]
    if unknown:
        report["warnings"].append(f"--held-out names no album found here: {', '.join(unknown)}")
    return report


def render(report: dict[str, Any]) -> str:
    lines = [f"{report['tracks']} tracks analysed"]
    if report["skipped"]:
        lines.append(f"skipped {len(report['skipped'])}: " + "; ".join(report["skipped"]))
    for name, split in report["splits"].items():
        albums = ", ".join(f"{k} ({v})" for k, v in split["labels"].items())
        heading = f"## {name}: {split['tracks']} tracks in {len(split['labels'])} albums: {albums}"
        if name == WHOLE:
            heading = (
                f"## {name}: queries from the {split['queryTracks']} tracks of {albums}; candidates: all "
                f"{split['tracks']} tracks"
            )
        lines += [
            "",
            heading,
            "",
            "| similar tracks: method | precision@10 (same album, leave-one-out) |",
            "|---|---|",
        ]
        for method, v in split["similar"].items():
            lines.append(f"| {method} | {v['precisionAt10']:.3f} |")
        shipped, previous = split["similar"][FUSED]["perAlbum"], split["similar"].get(PREVIOUS, {}).get("perAlbum", {})
        lines += ["", "| album | previous service | musicrec (shipped) |", "|---|---|---|"]
        for album, p in shipped.items():
            before = f"{previous[album]:.3f}" if album in previous else "–"
            lines.append(f"| {album} | {before} | {p:.3f} |")
        users = split["users"]
        lines += [
            "",
            f"| per user ({users['n']} simulated users, half of 2 albums held out) | hit rate@20 | recall |",
            "|---|---|---|",
        ]
        for method, v in users.items():
            if isinstance(v, dict):
                lines.append(f"| {method} | {v['hitRateAt20']:.3f} | {v['recall']:.3f} |")
        for what, c in split.get("shippedVsPrevious", {}).items():
            if c["ratio"] is not None:
                lines.append(
                    f"shipped vs previous, {what}: {c['ratio']:.2f}x (95 % paired bootstrap interval over the "
                    f"{c['n']} {'queries' if what == 'similar' else 'users'}: {c['ci95'][0]:.2f}–{c['ci95'][1]:.2f}x)"
                )
    for warning in report["warnings"]:
        lines.append(f"warning: {warning}")
    return "\n".join(lines)


def stderr_progress(done: int, total: int) -> None:
    sys.stderr.write(f"\ranalysed {done}/{total}")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()
