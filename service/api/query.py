"""Strict query strings: a parameter a route does not know is a 400 naming it, and so is a repeated one unless
the route takes a list there (`genre=a&genre=b`); never "the last one wins" or "ignored". Also the names
errors use: the parameter as the client wrote it (`tempoMin`), not the handler's argument (`tempo_min`).

Applies to the /v1 routes and /healthz; the previous service's compatible routes keep its leniency.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.exceptions import ValidationException

STRICT_PREFIXES = ("/v1/", "/healthz")


@dataclass(frozen=True)
class QueryRules:
    names: frozenset[str]  # every query parameter the route knows, as clients write them
    lists: frozenset[str]  # those that may repeat
    aliases: dict[str, str]  # handler argument → the name clients use (query, path, header parameters)


_RULES_KEY = "query_rules"  # in the app's state: the app keeps its handlers alive, so their ids stay theirs


def rules_for(request: Request) -> QueryRules:
    handler = request.route_handler
    path_keys = frozenset(request.path_params)
    key = (id(handler), path_keys)
    # one cache per app, not per process: a module-level cache keyed by id() handed a garbage-collected app's
    # rules to another app's handler at the same address (seen in the test suite: `limit` refused on /v1/tracks)
    cache: dict[tuple[int, frozenset[str]], QueryRules] = request.app.state.setdefault(_RULES_KEY, {})
    found = cache.get(key)
    if found is None:
        model = handler.create_kwargs_model({name: None for name in path_keys})  # only the names are read
        query = model.expected_query_params
        aliases = {
            p.field_name: p.field_alias
            for params in (query, model.expected_path_params, model.expected_header_params)
            for p in params
        }
        found = QueryRules(
            names=frozenset(p.field_alias for p in query),
            lists=frozenset(p.field_alias for p in query if p.is_sequence),
            aliases=aliases,
        )
        cache[key] = found
    return found


def _refuse(name: str, why: str) -> ValidationException:
    return ValidationException(
        detail="Validation failed", extra=[{"message": f"{why}: `{name}`", "key": name, "source": "query"}]
    )


async def check_query(request: Request) -> None:
    """`before_request` hook: unknown or wrongly repeated query parameters are a 400 before anything runs."""
    if not request.url.path.startswith(STRICT_PREFIXES):
        return
    rules = rules_for(request)
    for name, values in request.query_params.dict().items():
        if name not in rules.names:
            raise _refuse(name, "unknown query parameter")
        if len(values) > 1 and name not in rules.lists:
            raise _refuse(name, "query parameter given more than once (it takes one value)")


def client_name(request: Request, problem: dict[str, Any]) -> dict[str, Any]:
    """A validation problem with its `key` as the client wrote it: a query/path/header parameter's own name, and
    for an unknown body field its path (`filter.bogus`, not `filter`)."""
    key = problem.get("key")
    source = problem.get("source")
    message = str(problem.get("message") or "")
    if source == "body" and message.startswith("Object contains unknown field `"):
        field = message.removeprefix("Object contains unknown field `").split("`", 1)[0]
        parent = key if key and key != "data" else None  # "data": the handler's name for the whole body
        return {**problem, "key": f"{parent}.{field}" if parent else field}
    if source in ("query", "path", "header") and isinstance(key, str) and key not in request.query_params:
        try:
            alias = rules_for(request).aliases.get(key)
        except Exception:  # no handler resolved (nothing to rename)
            alias = None
        if alias:
            return {**problem, "key": alias}
    return problem
