"""Collection definitions: the JSON bodies in collections/, loaded and validated at start-up.

The files are data only. Each holds the exact create-collection body of the Qdrant REST API
(`collection`) and the payload indexes (`payloadIndexes`, create-field-index bodies), validated here
against qdrant-client's own models so a typo fails at start-up, not at the first query.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from qdrant_client.http import models

from service.errors import ConfigError

TRACKS, LIBRARY, USERS, CENTRES = COLLECTION_NAMES = ("tracks", "library", "users", "centres")


@dataclass(frozen=True)
class CollectionSpec:
    name: str  # logical name, the alias clients use
    version: int
    body: models.CreateCollection
    indexes: tuple[models.CreateFieldIndex, ...]
    raw: dict[str, Any]

    @property
    def real_name(self) -> str:
        return f"{self.name}_v{self.version}"

    def vector_params(self) -> dict[str, models.VectorParams]:
        vectors = self.body.vectors
        if not isinstance(vectors, dict):
            raise ConfigError(f"collection {self.name}: vectors must be named")
        return vectors

    def vector_size(self, name: str) -> int:
        return self.vector_params()[name].size


def _collections_dir() -> Path:
    packaged = resources.files("service") / "_collections"
    if packaged.is_dir():  # installed wheel (force-included)
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "collections"  # source checkout / editable install


def parse_spec(raw: dict[str, Any]) -> CollectionSpec:
    try:
        name = raw["name"]
        version = int(raw["version"])
        body = models.CreateCollection.model_validate(raw["collection"])
        indexes = tuple(models.CreateFieldIndex.model_validate(i) for i in raw.get("payloadIndexes", []))
    except Exception as exc:  # pydantic's ValidationError, KeyError, ValueError
        raise ConfigError(f"invalid collection definition {raw.get('name')!r}: {exc}") from exc
    return CollectionSpec(name=name, version=version, body=body, indexes=indexes, raw=raw)


@functools.cache
def load_specs() -> dict[str, CollectionSpec]:
    folder = _collections_dir()
    specs = {}
    for name in COLLECTION_NAMES:
        path = folder / f"{name}.json"
        try:
            raw = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read collection definition {path}: {exc}") from exc
        spec = parse_spec(raw)
        if spec.name != name:
            raise ConfigError(f"{path}: name is {spec.name!r}, expected {name!r}")
        specs[name] = spec
    return specs
