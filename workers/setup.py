"""Broker and runtime setup for a process that runs actors."""

from __future__ import annotations

import dramatiq

from service.catalog.centre import CatalogueCentre
from service.catalog.vector import live_vectors
from service.settings import Settings
from service.store.base import VectorStore
from service.sync.jobs import Queue
from workers import runtime
from workers.limits import Limits


def setup(settings: Settings, *, store: VectorStore, queue: Queue, redis=None) -> Queue:
    """Bind the actors to `queue.broker` and give them the process's store and job store."""
    from service.sync.youtube import MemoryQuota, RedisQuota

    tmp_dir = settings.data_dir / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    dramatiq.set_broker(queue.broker)
    import workers.actors

    # the actors were declared on whatever broker was current at first import: bind them to this one
    for actor in workers.actors.ACTORS:
        actor.broker = queue.broker
        queue.broker.declare_actor(actor)

    vectors = live_vectors(store, embedding=settings.embedding)
    runtime.init(
        runtime.Runtime(
            settings=settings,
            store=store,
            jobs=queue.jobs,
            vectors=vectors,
            centre=CatalogueCentre(store, vectors),
            quota=RedisQuota(redis, prefix=f"{settings.redis_prefix}:ytquota") if redis is not None else MemoryQuota(),
            limits=Limits.create(redis, settings.redis_prefix),
            tmp_dir=tmp_dir,
        )
    )
    return queue


def start_worker(queue: Queue, threads: int = 4) -> dramatiq.Worker:
    """In-process worker threads (embedded `musicrec serve`)."""
    worker = dramatiq.Worker(queue.broker, worker_threads=threads, worker_timeout=200)
    worker.start()
    return worker
