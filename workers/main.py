"""Entry module for Dramatiq worker processes of the scaled deployment (`musicrec worker`).

`dramatiq workers.main` imports this in every worker process: it reads the environment once and sets
up the broker, the store (a Qdrant server) and the actors.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import redis  # noqa: E402

from service.settings import Settings  # noqa: E402
from service.store import open_store  # noqa: E402
from service.sync.jobs import make_queue  # noqa: E402
from workers.setup import setup  # noqa: E402

settings = Settings.from_env()
if not (settings.redis_url and settings.qdrant_url):
    raise SystemExit("musicrec worker needs REDIS_URL and QDRANT_URL (the embedded mode runs workers in `serve`)")
_redis = redis.Redis.from_url(settings.redis_url)
queue = setup(
    settings,
    store=open_store(settings),
    queue=make_queue(settings, _redis, heartbeat_ms=settings.broker_heartbeat_ms),
    redis=_redis,
)
broker = queue.broker
