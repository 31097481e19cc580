"""service.analysis.features: window plan, the vector's shape and stability, librosa parity, discrimination, scaler."""

from __future__ import annotations

import json
import math
from importlib import resources

import numpy as np
import pytest

from service.analysis import features as F
from service.errors import AudioError
from service.tools.synth import SR, chord_progression, drum_track, noise_track, tone_track, write_audio


def cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


# --- the window plan ------------------------------------------------------------------------------------


@pytest.mark.parametrize("duration", [30.0, 31.5, 60.0, 185.0, 240.0, 899.0])
def test_plan_windows_three_windows_in_the_body(duration):
    plan = F.plan_windows(duration)
    assert len(plan) == 3
    for (start, length), centre in zip(plan, (0.25, 0.5, 0.75), strict=True):
        assert length == pytest.approx(10.0)
        assert 0.0 <= start and start + length <= duration + 1e-9
        if duration >= 60:  # long enough that no clamping happens: centred on 25 / 50 / 75 %
            assert start + length / 2 == pytest.approx(centre * duration, abs=0.01)
    starts = [s for s, _ in plan]
    assert starts == sorted(starts)
    if duration >= 60:  # skips intro and outro
        assert plan[0][0] > 0.1 * duration and plan[-1][0] + plan[-1][1] < 0.9 * duration


@pytest.mark.parametrize("duration", [3.0, 12.0, 29.9])
def test_plan_windows_short_track_is_one_whole_window(duration):
    assert F.plan_windows(duration) == [(0.0, duration)]


@pytest.mark.parametrize("duration", [0.0, -1.0, math.nan, math.inf])
def test_plan_windows_nonsense_durations(duration):
    assert F.plan_windows(duration) == []


# --- names, sizes, scaler --------------------------------------------------------------------------------


def test_names_and_size():
    names = F.feature_names()
    assert len(names) == F.VECTOR_SIZE == len(set(names))
    assert 60 <= F.VECTOR_SIZE <= 80
    assert F.VECTOR_NAME == "librosa_v1" and F.EXTRACTOR == "librosa" and F.VERSION == 1
    names.append("x")  # a copy: callers cannot corrupt the module's list
    assert len(F.feature_names()) == F.VECTOR_SIZE


def test_scaler_is_package_data_and_matches_the_extractor():
    path = resources.files("service.analysis").joinpath("scalers", f"{F.VECTOR_NAME}.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["extractor"] == F.EXTRACTOR and data["version"] == F.VERSION
    assert data["names"] == F.feature_names()
    std = np.array(data["std"])
    assert std.shape == (F.VECTOR_SIZE,) and (std > 0).all() and np.isfinite(data["mean"]).all()
    assert data["fittedOn"]["tracks"] >= 20  # fitted on a real music corpus, not on test tones
    mean = np.array(data["mean"])
    assert np.allclose(F.scale(mean), 0.0, atol=1e-6)  # the corpus mean maps to the origin


# --- parity with librosa ---------------------------------------------------------------------------------


def test_filter_banks_and_features_match_librosa():
    librosa = pytest.importorskip("librosa")
    assert np.allclose(F.mel_filters(SR), librosa.filters.mel(sr=SR, n_fft=2048), atol=1e-7)
    assert np.allclose(F.chroma_filters(SR), librosa.filters.chroma(sr=SR, n_fft=2048, tuning=0.0), atol=1e-6)

    y = (0.7 * chord_progression(10, seed=4) + 0.5 * drum_track(10, seed=5)).astype(np.float32)
    stats, _ = F._window_stats(y, SR)
    S = np.abs(librosa.stft(y, n_fft=2048, hop_length=512))
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(librosa.feature.melspectrogram(S=S**2, sr=SR)), n_mfcc=20)
    cent = librosa.feature.spectral_centroid(S=S, sr=SR)[0]
    rms_db = 20 * np.log10(librosa.feature.rms(y=y)[0])
    expected = np.concatenate(
        [
            mfcc.mean(1),
            mfcc.std(1),
            librosa.feature.chroma_stft(S=S**2, sr=SR, tuning=0.0).mean(1),
            [np.log2(cent).mean(), np.log2(cent).std()],
            [np.log2(librosa.feature.spectral_bandwidth(S=S, sr=SR)[0]).mean()],
            [np.log2(librosa.feature.spectral_rolloff(S=S, sr=SR)[0]).mean()],
            [np.log10(librosa.feature.spectral_flatness(S=S)[0]).mean()],
            librosa.feature.spectral_contrast(S=S, sr=SR).mean(1),
            [rms_db.mean(), rms_db.std(), librosa.feature.zero_crossing_rate(y)[0].mean()],
        ]
    )
    ours = stats[: expected.size]
    assert np.allclose(ours, expected, rtol=2e-3, atol=2e-3), F.feature_names()[int(np.argmax(np.abs(ours - expected)))]


# --- analyse ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mix() -> np.ndarray:
    return (0.7 * chord_progression(30, seed=1) + 0.5 * drum_track(30, bpm=120, seed=2)).astype(np.float32)


def _windows(y: np.ndarray) -> list[np.ndarray]:
    return [y[: 10 * SR], y[10 * SR : 20 * SR], y[20 * SR :]]


def test_analyse_shape_and_stability(mix):
    a = F.analyse(_windows(mix))
    b = F.analyse(_windows(mix.copy()))
    assert a.vector.dtype == np.float32 and a.vector.shape == (F.VECTOR_SIZE,)
    assert a.raw.shape == (F.VECTOR_SIZE,)
    assert np.isfinite(a.vector).all() and np.isfinite(a.raw).all()
    assert np.array_equal(a.vector, b.vector) and a.tempo == b.tempo
    assert np.allclose(a.vector, F.scale(a.raw))
    d = a.descriptors
    assert {"energy", "brightness", "tempo", "loudnessDb"} <= d.keys()
    assert 0 <= d["energy"] <= 1 and 0 <= d["brightness"] <= 1 and d["tempo"] == pytest.approx(a.tempo, abs=0.01)
    assert all(isinstance(v, float) and math.isfinite(v) for v in d.values())


def test_window_weighting(mix):
    # a short window counts less than a long one; one window gives the same as the per-window stats
    long, short = mix[: 20 * SR], mix[20 * SR : 21 * SR]
    both = F.analyse([long, short]).raw
    only_long = F.analyse([long]).raw
    only_short = F.analyse([short]).raw
    assert np.linalg.norm(both - only_long) < np.linalg.norm(both - only_short)


@pytest.mark.parametrize("bpm", [96, 120, 128])
def test_tempo_of_a_drum_grid(bpm):
    y = drum_track(30, bpm=bpm, seed=bpm)
    assert F.analyse(_windows(y)).tempo == pytest.approx(bpm, rel=0.03)


def test_descriptors_follow_loudness_and_brightness():
    tone = tone_track(10, (220.0, 277.18, 329.63), seed=1)
    quiet = F.analyse([tone * 0.05]).descriptors
    loud = F.analyse([tone]).descriptors
    assert loud["loudnessDb"] - quiet["loudnessDb"] == pytest.approx(20 * math.log10(20), abs=0.5)
    assert loud["energy"] > quiet["energy"]
    hats = F.analyse([noise_track(10, seed=3)]).descriptors
    assert hats["brightness"] > loud["brightness"]
    assert hats["noisiness"] > loud["noisiness"]


def test_discriminative_tones_vs_drums():
    chords = [
        (220.0, 277.18, 329.63),
        (196.0, 246.94, 293.66),
        (261.63, 329.63, 392.0),
        (174.61, 220.0, 261.63),
    ]
    tones = [F.analyse([tone_track(10, f, seed=i)]).vector for i, f in enumerate(chords)]
    tones += [F.analyse([chord_progression(10, seed=i)]).vector for i in range(2)]
    drums = [F.analyse([drum_track(10, bpm=b, seed=i)]).vector for i, b in enumerate([90, 110, 125, 150])]
    within_t = np.mean([cos(a, b) for i, a in enumerate(tones) for b in tones[i + 1 :]])
    within_d = np.mean([cos(a, b) for i, a in enumerate(drums) for b in drums[i + 1 :]])
    across = np.mean([cos(a, b) for a in tones for b in drums])
    assert within_t > across + 0.3 and within_d > across + 0.3
    everything = tones + drums
    labels = ["t"] * len(tones) + ["d"] * len(drums)
    for i, v in enumerate(everything):  # every track's nearest neighbour has its own kind
        sims = [cos(v, w) if j != i else -2 for j, w in enumerate(everything)]
        assert labels[int(np.argmax(sims))] == labels[i]


def test_analyse_rejects_nothing_to_analyse():
    with pytest.raises(AudioError):
        F.analyse([])
    with pytest.raises(AudioError):
        F.analyse([np.zeros(100, np.float32)])  # shorter than one FFT frame
    with pytest.raises(ValueError):
        F.analyse([np.zeros(SR, np.float32)], sr=44100)


def test_analyse_is_finite_on_edge_signals():
    for y in (np.zeros(SR, np.float32), np.full(SR, 0.5, np.float32), noise_track(2, seed=1) * 1e-6):
        a = F.analyse([y])
        assert np.isfinite(a.vector).all() and a.tempo > 0


# --- fitting ---------------------------------------------------------------------------------------------


def test_scaler_fit_main(tmp_path):
    from service.analysis import scaler_fit

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_audio(corpus / "a.wav", tone_track(8, seed=1))
    write_audio(corpus / "b.flac", drum_track(8, seed=2))
    write_audio(corpus / "c.wav", chord_progression(8, seed=3))
    (corpus / "broken.mp3").write_bytes(b"not audio at all")
    out = tmp_path / "scaler.json"
    result = scaler_fit.main([str(corpus)], str(out))
    assert result["tracks"] == 3 and len(result["skipped"]) == 1 and "broken.mp3" in result["skipped"][0]
    data = json.loads(out.read_text())
    assert data["names"] == F.feature_names() and data["extractor"] == "librosa" and data["version"] == 1
    assert len(data["mean"]) == len(data["std"]) == F.VECTOR_SIZE
    assert min(data["std"]) > 0  # floored


def test_scaler_fit_std_floor():
    from service.analysis.scaler_fit import fit

    raws = np.zeros((5, F.VECTOR_SIZE))
    raws[:, 0] = [1, 2, 3, 4, 5]
    raws[:, 1] = 100.0  # constant: floored relative to its magnitude
    mean, std = fit(raws)
    assert std[0] == pytest.approx(np.std([1, 2, 3, 4, 5], ddof=1))
    assert std[1] == pytest.approx(0.01 * 101) and std[2] == pytest.approx(0.01)
