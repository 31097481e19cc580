"""Request and response bodies (API.md shapes), msgspec Structs with camelCase field names, one module per resource."""

from __future__ import annotations

import importlib
import pkgutil

import msgspec


def api_structs() -> list[type[msgspec.Struct]]:
    """Every body shape defined in this package (for the OpenAPI document)."""
    found: dict[str, type[msgspec.Struct]] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, msgspec.Struct) and value.__module__ == module.__name__:
                found[value.__name__] = value
    return list(found.values())
