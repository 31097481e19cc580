"""The named vectors of a track, and the one the recommender compares (no numpy): the one definition.

- `librosa_v1` (71, cosine): the DSP features, scaled (`extractor`).
- `musicnn_v2_raw` (200, dot, on disk): the learned embedding as the model gives it (the mean of its patches'
  penultimate activations). Kept exactly (dot distance is stored unnormalised) so the compared vector can be
  re-derived when the catalogue's centre moves, without decoding audio again. Never queried.
- `musicnn_v2` (200, cosine): the embedding centred on the catalogue's own mean (`catalog.centre`). Centring on
  the catalogue's statistics beat the raw embedding and a centre fitted on other music on held-out albums.
- `fused_v2` (271, cosine): both, one query: √w·unit(librosa_v1) ⧺ √(1−w)·unit(musicnn_v2). Its cosine is
  exactly w·cos(DSP) + (1−w)·cos(embedding), so similar, seed, negative, user and path queries all use both
  vectors through one HNSW index; the weight is DSP_WEIGHT below and nowhere else.

collections/tracks.json, library.json and users.json declare exactly these (checked at start-up). With the
embedding turned off (`MUSICREC_EMBEDDING=0`) a track gets only `librosa_v1` and queries use it.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.analysis import embedding_spec, extractor

DSP = extractor.VECTOR_NAME  # librosa_v1
EMBEDDING_RAW = f"{embedding_spec.VECTOR_NAME}_raw"  # musicnn_v2_raw
EMBEDDING = embedding_spec.VECTOR_NAME  # musicnn_v2
# a new name whenever one of its parts or the weight changes (fused_v1 was librosa_v1 + musicnn_v1)
FUSED = "fused_v2"

# The fusion weight of the DSP cosine (the embedding's is 1 − DSP_WEIGHT). Chosen on the tuning albums only
# (README, "Recommendation quality"); changing it changes what `fused_v2` means: give it a new name.
DSP_WEIGHT = 0.1

SIZES: dict[str, int] = {
    DSP: extractor.VECTOR_SIZE,
    EMBEDDING_RAW: embedding_spec.VECTOR_SIZE,
    EMBEDDING: embedding_spec.VECTOR_SIZE,
    FUSED: extractor.VECTOR_SIZE + embedding_spec.VECTOR_SIZE,
}
DISTANCES: dict[str, str] = {DSP: "Cosine", EMBEDDING_RAW: "Dot", EMBEDDING: "Cosine", FUSED: "Cosine"}
ANALYSED = (DSP, EMBEDDING_RAW)  # what the analysis produces; the others are derived when stored
DERIVED = (EMBEDDING, FUSED)  # computed from the analysed ones and the catalogue's centre


@dataclass(frozen=True)
class VectorSet:
    """Which vectors this deployment stores and compares."""

    embedding: bool = True

    @property
    def names(self) -> tuple[str, ...]:
        return (DSP, EMBEDDING_RAW, EMBEDDING, FUSED) if self.embedding else (DSP,)

    @property
    def analysed(self) -> tuple[str, ...]:
        return ANALYSED if self.embedding else (DSP,)

    @property
    def query(self) -> str:
        """The vector every recommendation query compares (and library points and user centroids copy)."""
        return FUSED if self.embedding else DSP

    @property
    def query_size(self) -> int:
        return SIZES[self.query]

    @classmethod
    def of_collection(cls, names: set[str] | frozenset[str]) -> VectorSet:
        """The vector set a live collection supports: the full one when it has every vector, DSP-only when it
        has the DSP vector only (a store made before the embedding)."""
        if set(cls(True).names) <= set(names):
            return cls(True)
        return cls(False)
