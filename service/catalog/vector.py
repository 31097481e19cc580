"""Which named vectors this deployment stores and compares: the definitions checked against the code at start-up,
and the live store checked against both."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from service.analysis import vectorset
from service.analysis.vectorset import VectorSet
from service.errors import BadRequest, ConfigError
from service.store.base import VectorStore
from service.store.schema import LIBRARY, TRACKS, USERS, CollectionSpec, load_specs
from service.vectors import checked_vector

REINDEX_HINT = "run `musicrec reindex` to rebuild it with this release's vectors"


def check_definitions(specs: dict[str, CollectionSpec] | None = None) -> None:
    """collections/{tracks,library,users}.json must declare exactly the vectors of `vectorset` (names, sizes,
    distances): a definition changed without the code (or the reverse) stops start-up instead of storing
    vectors a query cannot compare."""
    specs = specs or load_specs()
    for collection in (TRACKS, LIBRARY, USERS):
        params = specs[collection].vector_params()
        declared = {name: (p.size, p.distance.value) for name, p in params.items()}
        wanted = {name: (vectorset.SIZES[name], vectorset.DISTANCES[name]) for name in vectorset.SIZES}
        if declared != wanted:
            raise ConfigError(
                f"collections/{collection}.json declares vectors {declared}, but this release's extractors produce "
                f"{wanted}"
            )


def track_vectors(specs: dict[str, CollectionSpec] | None = None, *, embedding: bool = True) -> VectorSet:
    """The vector set of a fresh store (definitions checked first)."""
    check_definitions(specs)
    return VectorSet(embedding=embedding)


def live_vectors(store: VectorStore, *, embedding: bool = True) -> VectorSet:
    """The vector set the open store supports: this release's, or DSP-only on a store made before the embedding
    (served as it is until `musicrec reindex` has added the embedding). A store whose vectors this release
    cannot compute at all is refused."""
    check_definitions()
    live = store.vector_sizes(TRACKS)
    if live.get(vectorset.DSP) != vectorset.SIZES[vectorset.DSP]:
        raise ConfigError(
            f"the store's tracks collection ({store.collection_name(TRACKS)}) holds vectors {live}, which this "
            f"release cannot compare ({vectorset.DSP} of size {vectorset.SIZES[vectorset.DSP]} is needed): "
            + REINDEX_HINT
        )
    found = VectorSet.of_collection(frozenset(live))
    return found if embedding else VectorSet(embedding=False)


def degraded_message(store: VectorStore, vectors: VectorSet, *, embedding: bool) -> str | None:
    """A line for the log when the store cannot give what the settings ask (an earlier release's store)."""
    if not embedding or vectors.embedding:
        return None
    live = ", ".join(sorted(store.vector_sizes(TRACKS)))
    return (
        f"the store's tracks collection {store.collection_name(TRACKS)} was made by an earlier release (vectors: "
        f"{live}): recommendations use the DSP features only until `musicrec reindex` has rebuilt it"
    )


def checked_analysed(given: Mapping[str, Sequence[float]], vectors: VectorSet, field: str) -> dict[str, list[float]]:
    """Analysed vectors handed over from outside (`musicrec ingest` or `reindex` talking to a server): the ones this
    store needs, each checked (size, finite float32); a 400 naming the field for an unknown or missing one."""
    unknown = sorted(set(given) - set(vectorset.ANALYSED))
    if unknown:
        raise BadRequest(f"{field}: unknown vector(s) {', '.join(unknown)}", {"field": field})
    missing = [name for name in vectors.analysed if name not in given]
    if missing:
        raise BadRequest(f"{field}: missing vector(s) {', '.join(missing)}", {"field": field})
    return {
        name: checked_vector(given[name], vectorset.SIZES[name], field=f"{field}.{name}") for name in vectors.analysed
    }
