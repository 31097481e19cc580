"""The tracks' vector: one definition in collections/tracks.json, checked against the extractor at start-up."""

from __future__ import annotations

from service.analysis import extractor
from service.errors import ConfigError
from service.store.schema import CollectionSpec, load_specs


def track_vector(specs: dict[str, CollectionSpec] | None = None) -> tuple[str, int]:
    """(name, size) of the tracks collection's named vector, which must be the extractor's vector.

    A mismatch (a collection definition or an extractor changed without the other) stops start-up
    instead of storing vectors a query cannot compare.
    """
    params = (specs or load_specs())["tracks"].vector_params()
    name = next(iter(params))
    size = params[name].size
    if (name, size) != (extractor.VECTOR_NAME, extractor.VECTOR_SIZE):
        raise ConfigError(
            f"collections/tracks.json defines vector {name!r} of size {size}, but the extractor produces "
            f"{extractor.VECTOR_NAME!r} of size {extractor.VECTOR_SIZE}"
        )
    return name, size
