"""service.analysis.embedding: the pinned ONNX model, its parity with TensorFlow, the front end's parity with
musicnn's librosa front end, and the embedding's shape, determinism and discrimination on generated music."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from service.analysis import decode
from service.analysis import embedding as E
from service.analysis import embedding_spec as S
from service.analysis.features import plan_windows
from service.errors import AudioError
from service.tools.synth import chord_progression, drum_track, tone_track

FIXTURE = Path(__file__).parent / "data" / "musicnn_fixture.npz"


def cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def musicnn_log_mel(y16k: np.ndarray) -> np.ndarray:
    """musicnn 0.1.0's extractor.batch_data front end, its librosa calls as written there (musicnn itself
    pins numpy<1.17 and cannot be installed here); the float16 mel goes back to float32 before the log,
    which is what numpy < 2 did and what keeps 10000·mel from overflowing."""
    import librosa

    rep = librosa.feature.melspectrogram(y=y16k, sr=16000, hop_length=256, n_fft=512, n_mels=96).T
    rep = rep.astype(np.float16)
    return np.log10(10000 * rep.astype(np.float32) + 1)


# --- the model file and the network ----------------------------------------------------------------------


def test_model_files_are_the_pinned_ones():
    folder = Path(str(E.model_path())).parent
    readme = (folder / "README.md").read_text()
    for name, sha in ((S.MODEL_FILE, S.MODEL_SHA256), (S.REFERENCE_MODEL_FILE, S.REFERENCE_MODEL_SHA256)):
        data = E.model_path(name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == sha
        assert 2_500_000 < len(data) < 4_000_000
        assert sha in readme
    licence = (folder / "LICENSE-musicnn.md").read_text()
    assert "Music Technology Group" in licence and "Permission to use" in licence


def test_the_reference_model_matches_tensorflow_on_the_fixture():
    fx = np.load(FIXTURE)
    assert tuple(str(t) for t in fx["labels"]) == S.TAGS
    pen, tags = E.embed_patches(fx["melspec"].astype(np.float32), reference=True)
    assert pen.shape == (3, S.VECTOR_SIZE) and tags.shape == (3, len(S.TAGS))
    np.testing.assert_allclose(pen, fx["penultimate"], atol=1e-4, rtol=0)
    np.testing.assert_allclose(tags, fx["tags"], atol=1e-4, rtol=0)


def test_the_int8_model_keeps_the_reference_outputs():
    """The shipped model (timbral convolutions in int8) against the fp32 one it was made from: on TensorFlow's
    fixture patches and on generated tracks of different styles, the penultimate layer points the same way (the
    vectors differ in the third decimal of their cosine) and the tags agree."""
    fx = np.load(FIXTURE)["melspec"].astype(np.float32)
    styles = [
        0.6 * tone_track(9, sr=16000, seed=seed) + 0.4 * drum_track(9, sr=16000, seed=seed) for seed in range(3)
    ] + [drum_track(9, sr=16000, seed=7), tone_track(9, sr=16000, seed=8)]
    batch = np.concatenate([fx, *(E.patches([y]) for y in styles)])
    pen, tags = E.embed_patches(batch)
    ref_pen, ref_tags = E.embed_patches(batch, reference=True)
    cos = (pen * ref_pen).sum(1) / np.linalg.norm(pen, axis=1) / np.linalg.norm(ref_pen, axis=1)
    assert cos.min() > 0.999, cos
    assert np.abs(tags - ref_tags).max() < 0.05
    assert not np.allclose(pen, ref_pen, atol=1e-5)  # it is the int8 model that ran


def test_session_is_single_threaded_and_shared():
    s = E.session()
    assert s is E.session()
    opts = s.get_session_options()
    assert opts.intra_op_num_threads == 1 and opts.inter_op_num_threads == 1
    assert [i.name for i in s.get_inputs()] == [S.INPUT_NAME]
    assert s.get_inputs()[0].shape[1:] == [S.PATCH_FRAMES, S.N_MELS]
    assert [o.name for o in s.get_outputs()] == list(S.OUTPUTS)


def test_embed_patches_rejects_wrong_shapes():
    with pytest.raises(ValueError):
        E.embed_patches(np.zeros((1, 100, S.N_MELS), np.float32))


def test_spec_is_light():
    code = "import sys, service.analysis.embedding_spec as s; assert s.VECTOR_NAME == 'musicnn_v2'; "
    code += "assert 'numpy' not in sys.modules and 'onnxruntime' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# --- the front end ---------------------------------------------------------------------------------------


def test_log_mel_matches_musicnns_librosa_front_end():
    sr = 16000
    y = 0.6 * tone_track(7, sr=sr, seed=3) + 0.4 * drum_track(7, sr=sr, seed=3)
    ours = E.log_mel(y)
    ref = musicnn_log_mel(y)
    assert ours.shape == ref.shape == (1 + y.size // S.HOP, S.N_MELS)
    assert ours.dtype == np.float32 and np.isfinite(ours).all()
    # float32 sums in another order can round to the neighbouring float16 before the log: ≤ 1 float16 ulp
    assert np.abs(ours - ref).max() < 2e-3
    assert np.abs(ours - ref).mean() < 1e-5


def test_log_mel_does_not_overflow_on_loud_audio():
    y = np.sign(np.sin(2 * np.pi * 100 * np.arange(16000) / 16000)).astype(np.float32)  # full-scale square wave
    assert np.isfinite(E.log_mel(y)).all()


def test_resample_keeps_a_tone_and_the_length():
    t = np.arange(22050 * 2) / 22050
    y = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    out = E.resample(y, 22050)
    assert out.dtype == np.float32 and out.size == 32000
    spec = np.abs(np.fft.rfft(out[4000:-4000]))
    assert np.fft.rfftfreq(out[4000:-4000].size, 1 / 16000)[np.argmax(spec)] == pytest.approx(440, abs=1)
    assert E.resample(out, 16000) is out or np.array_equal(E.resample(out, 16000), out)


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [((10.0, 10.0, 10.0), 6), ((29.0,), 6), ((7.0,), 2), ((4.0,), 1), ((2.0,), 1), ((10.0, 10.0, 2.0), 5)],
)
def test_patch_plan(seconds, expected):
    windows = [np.random.default_rng(0).normal(0, 0.1, int(s * 16000)).astype(np.float32) for s in seconds]
    p = E.patches(windows)
    assert p.shape == (expected, S.PATCH_FRAMES, S.N_MELS)


@pytest.mark.parametrize("sr", [22050, 44100, 16000])
@pytest.mark.parametrize(
    "seconds", [(10.0, 10.0, 10.0), (29.0,), (7.0,), (4.0,), (0.2, 10.0), (10.0, 10.0, 2.0), (3.0001, 9.77)]
)
def test_window_patches_are_the_whole_window_path_on_only_the_audio_it_reads(seconds, sr):
    """The front end resamples and transforms only the audio under the patches: the same patches, to the bit,
    as resampling and transforming each whole window (lengths off the decimation grid, windows too short)."""
    rng = np.random.default_rng(int(sum(seconds) * 1000) + sr)
    windows = [(rng.standard_normal(int(s * sr)) * 0.2).astype(np.float32) for s in seconds]
    whole = E.patches([E.resample(w, sr) for w in windows])
    cropped = E.window_patches(windows, sr)
    assert cropped.shape == whole.shape
    assert np.array_equal(cropped, whole)


def test_window_patches_refuses_windows_with_no_audio():
    with pytest.raises(AudioError):
        E.window_patches([np.zeros(100, np.float32)], 22050)


def test_embedding_front_end_matches_musicnn_on_decoded_tracks(music_dir):
    """Per track: our path (PyAV decode at 22,050 Hz → polyphase → numpy log-mel) against musicnn's (librosa
    loads the file at 16 kHz → librosa mel), same windows, same patch positions, same network."""
    import librosa

    paths = sorted(music_dir.rglob("*.*"))
    assert len(paths) >= 10
    for path in paths:
        decoded = decode.decode_for_analysis(path)
        ours = E.embed(decoded.windows, decode.SAMPLE_RATE).vector
        y16, _ = librosa.load(str(path), sr=16000)
        ref_patches = []
        plan = plan_windows(decoded.duration_s)
        per_window = -(-S.PATCHES_PER_TRACK // len(plan))
        for start, length in plan:
            a = int(round(start * 16000))
            mel = musicnn_log_mel(y16[a : a + int(round(length * 16000))])
            k = max(1, min(per_window, mel.shape[0] // S.PATCH_FRAMES))
            for s in E.patch_starts(mel.shape[0], k):
                ref_patches.append(mel[s : s + S.PATCH_FRAMES])
        ref, _ = E.embed_patches(np.stack(ref_patches))
        c = cos(ours, ref.mean(axis=0))
        assert c >= 0.99, (path.name, c)


# --- the embedding ---------------------------------------------------------------------------------------


def _embed_audio(y: np.ndarray, sr: int = 22050) -> E.Embedding:
    windows = [y[int(s * sr) : int((s + n) * sr)] for s, n in plan_windows(y.size / sr)]
    return E.embed(windows, sr)


def test_embedding_shape_finite_deterministic():
    y = chord_progression(34, seed=1)
    a, b = _embed_audio(y), _embed_audio(y.copy())
    assert a.vector.shape == (S.VECTOR_SIZE,) and a.vector.dtype == np.float32
    assert np.isfinite(a.vector).all() and np.linalg.norm(a.vector) > 0
    assert a.n_patches == S.PATCHES_PER_TRACK
    assert np.array_equal(a.vector, b.vector) and np.array_equal(a.tags, b.tags)
    assert a.tags.shape == (len(S.TAGS),) and ((a.tags >= 0) & (a.tags <= 1)).all()


def test_top_tags():
    tags = np.zeros(len(S.TAGS), np.float32)
    tags[S.TAGS.index("rock")] = 0.9
    tags[S.TAGS.index("chill")] = 0.5
    tags[S.TAGS.index("female vocalists")] = 0.2
    assert E.top_tags(tags, k=2) == [("rock", 0.9), ("chill", 0.5)]
    assert E.top_tags(tags, k=10, min_probability=0.3) == [("rock", 0.9), ("chill", 0.5)]
    assert E.top_tags(tags, k=0) == []
    with pytest.raises(ValueError):
        E.top_tags(tags[:10])


def test_styles_are_separated(music_dir):
    """Tones vs drums (the session's generated albums): every track's nearest neighbour is of its own style,
    and the mean cosine within a style is above the mean cosine across styles."""
    vectors, styles = [], []
    for folder in ("tones", "drums"):
        for path in sorted((music_dir / folder).iterdir()):
            decoded = decode.decode_for_analysis(path)
            vectors.append(E.embed(decoded.windows, decode.SAMPLE_RATE).vector)
            styles.append(folder)
    x = np.stack(vectors).astype(np.float64)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    sims = x @ x.T
    np.fill_diagonal(sims, -np.inf)
    lab = np.array(styles)
    assert (lab[np.argmax(sims, axis=1)] == lab).all()
    same = lab[:, None] == lab[None, :]
    off = ~np.eye(len(lab), dtype=bool)
    assert sims[same & off].mean() > sims[~same].mean() + 0.05
