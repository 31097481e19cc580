"""One track's analysis from its decoded windows: the DSP features and, when enabled, the learned embedding.

The one function the ingest, the sync workers, the quality report and the bench call, so every path stores
the same vectors. Only the analysed vectors come out (`vectorset.ANALYSED`); the compared ones depend on the
catalogue's centre and are derived when stored (`catalog.centre`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from service.analysis import features
from service.analysis.vectorset import DSP, EMBEDDING_RAW

TOP_TAGS = 5
MIN_TAG_PROBABILITY = 0.1  # below this a tag says more about the model's priors than about the track


@dataclass(frozen=True)
class TrackAnalysis:
    vectors: dict[str, list[float]]  # DSP (and the raw embedding when enabled), float32 values as lists
    tempo: float
    descriptors: dict[str, float]
    tags: list[str] = field(default_factory=list)  # the model's most probable tags (lower case), most first
    dsp: features.Analysis | None = None  # the DSP analysis itself (raw features: the quality report's)


def analyse_track(
    windows: list[np.ndarray], sr: int = features.SAMPLE_RATE, *, embedding: bool = True
) -> TrackAnalysis:
    dsp = features.analyse(windows, sr)
    vectors = {DSP: dsp.vector.tolist()}
    tags: list[str] = []
    if embedding:
        from service.analysis import embedding as learned

        embedded = learned.embed(windows, sr)
        vectors[EMBEDDING_RAW] = embedded.vector.tolist()
        tags = [name.lower() for name, _ in learned.top_tags(embedded.tags, TOP_TAGS, MIN_TAG_PROBABILITY)]
    return TrackAnalysis(vectors=vectors, tempo=dsp.tempo, descriptors=dsp.descriptors, tags=tags, dsp=dsp)
