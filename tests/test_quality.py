"""The offline quality report runs end to end (on generated albums) and its maths is right."""

from __future__ import annotations

import numpy as np

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
    assert report["tracks"] == 12 and report["labels"] == {"drums": 5, "tones": 5, music_dir.name: 2}
    shipped = report["similar"]["features v1, standardised + group weights (shipped)"]["precisionAt10"]
    assert 0 <= shipped <= 1
    assert report["users"]["n"] == 4
    ours = report["users"]["musicrec taste (clusters + recommend queries)"]
    assert 0 <= ours["precisionAt20"] <= 1 and 0 < ours["recall"] <= 1
    assert "precision@10" in render(report)
