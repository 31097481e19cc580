"""The offline quality report runs end to end (on generated albums) and its maths is right."""

from __future__ import annotations

import numpy as np

from service.tools import quality
from service.tools.quality import loo_precision, make_users, render, run


def test_loo_precision_counts_same_label_neighbours():
    x = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], dtype=float)
    overall, per = loo_precision(x, ["a", "a", "b", "b"], k=1)
    assert overall == 1.0 and per == {"a": 1.0, "b": 1.0}
    overall, _ = loo_precision(x, ["a", "b", "a", "b"], k=1)
    assert overall == 0.0


def test_simulated_users_hold_out_half_of_two_albums():
    labels = ["a"] * 6 + ["b"] * 4 + ["c"] * 2
    users = make_users(labels, 5, seed=1)
    assert len(users) == 5
    for library, held in users:
        assert not set(library) & set(held)
        assert {labels[i] for i in library} == {labels[i] for i in held}
        assert len({labels[i] for i in library}) == 2 and "c" not in {labels[i] for i in library}


def test_quality_report_on_generated_albums(music_dir):
    report = run(music_dir, with_reference=False, n_users=4, workers=2)
    split = report["splits"]["all"]
    assert report["tracks"] == 12 and split["labels"] == {"drums": 5, "tones": 5, music_dir.name: 2}
    for method in (quality.DSP_V1, quality.EMBEDDING_ALONE, quality.FUSED, quality.RRF):
        assert 0 <= split["similar"][method]["precisionAt10"] <= 1
    # albums of 5 cap precision@10 at 0.4; the shipped method finds same-album tracks above chance
    assert split["similar"][quality.FUSED]["precisionAt10"] > split["similar"]["random"]["precisionAt10"]
    assert split["users"]["n"] == 4
    ours = split["users"][quality.SERVICE_USERS]
    assert 0 <= ours["hitRateAt20"] <= 1 and 0 < ours["recall"] <= 1
    # two albums of 4+ tracks: the per-user table is flagged as saying little
    assert any("album(s) with 4 or more tracks" in w for w in report["warnings"])
    assert "precision@10" in render(report) and "hit rate@20" in render(report)
    assert report["splits"]["all"]["shippedVsPrevious"] == {}  # no reference run: nothing to compare with


def test_held_out_albums_are_scored_as_their_own_catalogue(music_dir):
    report = run(music_dir, with_reference=False, n_users=2, workers=2, held_out=frozenset({"tones", "nope"}))
    assert set(report["splits"]) == {"tuning", "held-out", quality.WHOLE}
    assert report["splits"]["held-out"]["labels"] == {"tones": 5}
    assert report["splits"]["tuning"]["labels"] == {"drums": 5, music_dir.name: 2}
    # the held-out albums' questions asked among all the tracks: only they ask, everything is a candidate
    whole = report["splits"][quality.WHOLE]
    assert whole["tracks"] == 12 and whole["queryTracks"] == 5 and whole["labels"] == {"tones": 5}
    assert (
        whole["similar"]["random"]["precisionAt10"] < report["splits"]["held-out"]["similar"]["random"]["precisionAt10"]
    )
    assert report["unknownHeldOut"] == ["nope"]
    assert "candidates: all 12 tracks" in render(report)


def test_queries_and_users_restricted_to_the_named_albums():
    x = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], dtype=float)
    overall, per = loo_precision(x, ["a", "a", "b", "c"], k=1, queries=frozenset({"a"}))
    assert overall == 1.0 and per == {"a": 1.0}
    assert quality.chance(["a", "a", "b", "b", "b"], frozenset({"a"})) == 0.25
    labels = ["a"] * 4 + ["b"] * 4 + ["c"] * 4
    for library, held in make_users(labels, 6, seed=2, albums_from=frozenset({"a", "b"})):
        assert {labels[i] for i in library + held} == {"a", "b"}


def test_rrf_prefers_what_both_rankings_agree_on():
    a = np.array([[1.0, 0.9, 0.1, 0.0], [0.9, 1.0, 0.0, 0.1], [0.1, 0.0, 1.0, 0.8], [0.0, 0.1, 0.8, 1.0]])
    b = np.array([[1.0, 0.2, 0.3, 0.1], [0.2, 1.0, 0.1, 0.3], [0.3, 0.1, 1.0, 0.9], [0.1, 0.3, 0.9, 1.0]])
    fused = quality.rrf(a, b)
    assert int(np.argmax(np.where(np.eye(4, dtype=bool), -np.inf, fused[2]))) == 3
    assert quality.chance(["a", "a", "b"]) == 0.5


def test_ratio_ci_brackets_the_ratio_and_narrows_with_more_questions():
    rng = np.random.default_rng(3)
    prev_small, ours_small = rng.uniform(0, 0.6, 20), rng.uniform(0.2, 1.0, 20)
    small = quality.ratio_ci(ours_small, prev_small)
    lo, hi = small["ci95"]
    assert lo < small["ratio"] < hi and small["n"] == 20
    big = quality.ratio_ci(np.tile(ours_small, 25), np.tile(prev_small, 25))
    assert big["ratio"] == small["ratio"] and big["ci95"][1] - big["ci95"][0] < (hi - lo) / 3
    assert quality.ratio_ci([], [])["ratio"] is None and quality.ratio_ci([0.5], [0.0])["ratio"] is None
