"""`musicrec check`: are this deployment's dependencies reachable with these settings? (The workers' healthcheck.)"""

from __future__ import annotations

import argparse

from service.cli.common import fail
from service.settings import Settings


def _qdrant(settings: Settings) -> str | None:
    from service.store.server import ServerStore

    store = ServerStore(settings.qdrant_url, settings.qdrant_api_key)
    try:
        return None if store.healthy() else f"Qdrant at {settings.qdrant_url} does not answer (or refuses the key)"
    finally:
        store.close()


def _redis(settings: Settings) -> str | None:
    import redis

    client = redis.Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
    try:
        client.ping()
        return None
    except redis.RedisError as exc:
        return f"Redis does not answer: {exc}"
    finally:
        client.close()


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    settings.check_qdrant_auth()
    checked, problems = [], []
    if settings.qdrant_url:
        checked.append("qdrant")
        problems.append(_qdrant(settings))
    if settings.redis_url:
        checked.append("redis")
        problems.append(_redis(settings))
    problems = [p for p in problems if p]
    if problems:
        return fail("; ".join(problems))
    print(f"musicrec: ok ({', '.join(checked) or 'nothing to reach: embedded store, in-process broker'})")
    return 0
