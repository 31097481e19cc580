"""Entry module for Dramatiq worker processes of the scaled deployment (`musicrec worker`).

`dramatiq workers.main` imports this in every worker process: it reads the environment once and sets
up the broker, the store (a Qdrant server) and the actors.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import redis  # noqa: E402

from service.settings import Settings, without_credentials  # noqa: E402
from service.store import open_store  # noqa: E402
from service.sync.jobs import make_queue  # noqa: E402
from workers.connectivity import BrokerOutageLog, wait_until_reachable  # noqa: E402
from workers.setup import setup  # noqa: E402

settings = Settings.from_env()
if not (settings.redis_url and settings.qdrant_url):
    raise SystemExit("musicrec worker needs REDIS_URL and QDRANT_URL (the embedded mode runs workers in `serve`)")
_redis = redis.Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
_store = []


def _open_qdrant() -> None:
    if not _store:
        _store.append(open_store(settings))


# started before Redis or Qdrant (compose, a reboot): wait for them with one log line per state change
wait_until_reachable(
    {
        f"Redis at {without_credentials(settings.redis_url)}": _redis.ping,
        f"Qdrant at {without_credentials(settings.qdrant_url)}": _open_qdrant,
    }
)
BrokerOutageLog(_redis.ping).install()
queue = setup(
    settings,
    store=_store[0],
    queue=make_queue(settings, _redis, heartbeat_ms=settings.broker_heartbeat_ms),
    redis=_redis,
)
broker = queue.broker
