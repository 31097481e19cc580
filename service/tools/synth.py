"""Generated music for the tests and the bench: numpy synthesis, written with PyAV (no files on disk, no
downloads).

Every generator is deterministic given its seed. Samples are mono float32 in [-1, 1].
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

SR = 22050

# suffix → (container format, codec, encoder sample format, channel layout, codec options)
_CODECS: dict[str, tuple[str, str, str, str, dict[str, str]]] = {
    ".wav": ("wav", "pcm_s16le", "s16", "mono", {}),
    ".flac": ("flac", "flac", "s16", "mono", {}),
    # FFmpeg's native vorbis encoder (libvorbis is not in PyAV's wheels): experimental, stereo only
    ".ogg": ("ogg", "vorbis", "fltp", "stereo", {"strict": "experimental"}),
    ".mp3": ("mp3", "libmp3lame", "fltp", "mono", {}),
    ".m4a": ("ipod", "aac", "fltp", "mono", {}),
    ".opus": ("opus", "libopus", "flt", "mono", {}),
}


def write_audio(path, samples: np.ndarray, sr: int = SR, tags: dict[str, str] | None = None) -> Path:
    """Encode mono `samples` to `path`; the codec follows the suffix (.wav .flac .ogg .mp3 .m4a .opus).

    `tags` become container metadata (ID3 for mp3, vorbis comments for ogg/flac/opus, MP4 atoms, RIFF INFO),
    which is what service.analysis.decode reads back.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _CODECS:
        raise ValueError(f"no encoder for {suffix}")
    fmt, codec, _sample_fmt, layout, options = _CODECS[suffix]
    x = np.clip(np.asarray(samples, np.float32).ravel(), -1.0, 1.0)
    rate = 48000 if codec == "libopus" else sr  # opus only runs at 48 kHz; PyAV resamples for the encoder
    container = av.open(str(path), mode="w", format=fmt)
    try:
        for k, v in (tags or {}).items():
            container.metadata[k] = v
        stream = container.add_stream(codec, rate=rate, layout=layout, options=options or None)
        channels = 2 if layout == "stereo" else 1
        step = 4096
        for i in range(0, x.size, step):
            chunk = np.ascontiguousarray(np.repeat(x[None, i : i + step], channels, axis=0))
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
            frame.sample_rate = sr
            frame.pts = i  # muxers (ogg granules, durations) need timestamps
            frame.time_base = Fraction(1, sr)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    finally:
        container.close()
    return path


# ---------------------------------------------------------------------------------------------------------
# generators


def _envelope(n: int, sr: int, attack: float = 0.02, release: float = 0.05) -> np.ndarray:
    env = np.ones(n, np.float32)
    a, r = min(n, int(attack * sr)), min(n, int(release * sr))
    if a:
        env[:a] = np.linspace(0, 1, a, dtype=np.float32)
    if r:
        env[n - r :] *= np.linspace(1, 0, r, dtype=np.float32)
    return env


def _normalise(x: np.ndarray, peak: float = 0.5) -> np.ndarray:
    m = float(np.max(np.abs(x))) if x.size else 0.0
    return (x * (peak / m) if m > 0 else x).astype(np.float32)


def tone_track(seconds: float, freqs=(220.0, 277.18, 329.63), sr: int = SR, seed: int = 0) -> np.ndarray:
    """A sustained chord of sines (with a few harmonics), slow vibrato and a gentle swell."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    y = np.zeros(n, np.float64)
    for f in freqs:
        rate, depth, phase = rng.uniform(4.5, 6.0), rng.uniform(0.002, 0.004), rng.uniform(0, 2 * np.pi)
        inst = f * (1 + depth * np.sin(2 * np.pi * rate * t + phase))
        ph = 2 * np.pi * np.cumsum(inst) / sr
        for h, amp in ((1, 1.0), (2, 0.35), (3, 0.15)):
            y += amp * np.sin(h * ph)
    swell = 0.75 + 0.25 * np.sin(2 * np.pi * t / rng.uniform(6.0, 9.0))
    y = y * swell * _envelope(n, sr, 0.3, 0.5) + rng.normal(0, 1e-3, n)
    return _normalise(y, 0.5)


def chord_progression(
    seconds: float, bpm: float = 90.0, sr: int = SR, seed: int = 0, root: float = 220.0
) -> np.ndarray:
    """Four chords (I-vi-IV-V, major triads/minor), one per bar of 4 beats, with soft note attacks."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    bar = int(round(4 * 60.0 / bpm * sr))
    semis = [(0, 4, 7), (9, 12, 16), (5, 9, 12), (7, 11, 14)]
    y = np.zeros(n, np.float32)
    i = 0
    for start in range(0, n, bar):
        length = min(bar, n - start)
        chord = [root * 2 ** (s / 12) for s in semis[i % 4]]
        seg = tone_track(length / sr, chord, sr, seed=int(rng.integers(1 << 30)))
        y[start : start + seg.size] += seg * _envelope(seg.size, sr, 0.05, 0.1)
        i += 1
    return _normalise(y, 0.5)


def drum_track(seconds: float, bpm: float = 120.0, sr: int = SR, seed: int = 0) -> np.ndarray:
    """Kick (decaying low sine sweep) on every beat, noise snare on 2 and 4, hi-hat eighths."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    y = np.zeros(n, np.float32)
    beat = 60.0 / bpm

    def hit(at: float, sound: np.ndarray) -> None:
        a = int(at * sr)
        if a < n:
            m = min(sound.size, n - a)
            y[a : a + m] += sound[:m]

    kt = np.arange(int(0.25 * sr)) / sr
    kick = (np.sin(2 * np.pi * (50 + 100 * np.exp(-kt * 30)) * kt) * np.exp(-kt * 12)).astype(np.float32)
    k = 0
    while k * beat < seconds:
        t0 = k * beat
        hit(t0, kick)
        if k % 2 == 1:
            st = np.arange(int(0.18 * sr)) / sr
            hit(t0, (rng.normal(0, 0.6, st.size) * np.exp(-st * 22)).astype(np.float32))
        for half in (0.0, 0.5):
            ht = np.arange(int(0.05 * sr)) / sr
            noise = rng.normal(0, 1, ht.size)
            hat = np.diff(noise, prepend=0.0) * 0.15 * np.exp(-ht * 80)  # differenced = high-passed
            hit(t0 + half * beat, hat.astype(np.float32))
        k += 1
    return _normalise(y, 0.8)


def noise_track(seconds: float, sr: int = SR, seed: int = 0, level: float = 0.3) -> np.ndarray:
    """White noise."""
    rng = np.random.default_rng(seed)
    return (rng.normal(0, level / 3, int(seconds * sr))).clip(-1, 1).astype(np.float32)


def silence(seconds: float, sr: int = SR) -> np.ndarray:
    return np.zeros(int(seconds * sr), np.float32)


# ---------------------------------------------------------------------------------------------------------
# the bench's tracks: one of a few 'genres' per seed, mixed from the generators above

GENRES = ("ambient", "rock", "techno", "jazz", "noise")
_MIX = {"ambient": (1.0, 0.0), "rock": (0.6, 0.8), "techno": (0.3, 1.0), "jazz": (0.8, 0.35)}  # chords, drums


def synth_track(seconds: float, sr: int, seed: int) -> tuple[np.ndarray, str]:
    """A deterministic piece of 'music' and its genre: chords and drums at a random tempo and key, mixed by
    genre; 'noise' is white noise swelling with the chords."""
    rng = np.random.default_rng(seed)
    genre = GENRES[seed % len(GENRES)]
    bpm = float(rng.uniform(70, 160))
    root = float(110 * 2 ** (rng.integers(0, 12) / 12))
    chord_seed, drum_seed, noise_seed = (int(x) for x in rng.integers(0, 1 << 30, 3))
    if genre == "noise":
        chords = chord_progression(seconds, bpm / 4, sr, chord_seed, root)
        y = noise_track(seconds, sr, noise_seed, level=0.9) * (0.6 + 0.8 * np.abs(chords))
    else:
        chords_gain, drums_gain = _MIX[genre]
        y = chords_gain * chord_progression(seconds, bpm, sr, chord_seed, root)
        if drums_gain:
            y = y + drums_gain * drum_track(seconds, bpm, sr, drum_seed)
        y = y + rng.normal(0, 0.003, y.size)
    return _normalise(y, 0.8), genre
