"""Sync jobs: state and progress (Redis, or in-process memory in the embedded mode), Spotify token
references, and enqueueing actors by name (the API never imports the workers).

A job counts each unique track once, whatever the redeliveries: a track is "finished" by adding its id to
a per-job set, and only a first add moves a counter (atomically, in one Lua script on Redis). Counters
only grow, so progress is monotonic.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from typing import Any, Protocol

import dramatiq

QUEUES = ("spotify", "youtube", "cpu")
MAX_FAILURES_LISTED = 100
TOKEN_TTL_S = 3600  # a Spotify access token lives an hour at most
USER_LOCK_TTL_S = 6 * 3600
JOB_TTL_S = 7 * 24 * 3600


class JobStore(Protocol):
    def create(self, user_id: str) -> tuple[str, bool]:
        """(job id, created): a user with a running job joins it instead of starting another."""
        ...

    def get(self, job_id: str) -> dict[str, Any] | None: ...

    def start(self, job_id: str, total: int, ignored: int) -> None: ...

    def finish_track(self, job_id: str, spotify_id: str, failure: dict[str, Any] | None = None) -> bool:
        """Count a track as done (failure None) or failed, once. True when this call counted it."""
        ...

    def fail(self, job_id: str, error: str) -> None: ...

    def complete_if_finished(self, job_id: str) -> bool: ...

    def put_token(self, token: str, ttl_s: int = TOKEN_TTL_S) -> str: ...

    def get_token(self, ref: str) -> str | None: ...

    def delete_token(self, ref: str) -> None: ...


def _new_job(job_id: str, user_id: str) -> dict[str, Any]:
    now = time.time()
    return {
        "jobId": job_id,
        "userId": user_id,
        "state": "queued",
        "total": 0,
        "done": 0,
        "failed": 0,
        "ignored": 0,
        "error": None,
        "createdAt": now,
        "updatedAt": now,
    }


class MemoryJobs:
    """In-process job state for the embedded mode without Redis (one process owns everything)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.jobs: dict[str, dict[str, Any]] = {}
        self.finished: dict[str, set[str]] = {}
        self.failures: dict[str, list[dict[str, Any]]] = {}
        self.active: dict[str, str] = {}
        self.tokens: dict[str, tuple[str, float]] = {}

    def create(self, user_id: str) -> tuple[str, bool]:
        with self.lock:
            running = self.active.get(user_id)
            if running and self.jobs[running]["state"] in ("queued", "running"):
                return running, False
            job_id = str(uuid.uuid4())
            self.jobs[job_id] = _new_job(job_id, user_id)
            self.finished[job_id] = set()
            self.failures[job_id] = []
            self.active[user_id] = job_id
            return job_id, True

    def get(self, job_id: str) -> dict[str, Any] | None:
        with self.lock:
            job = self.jobs.get(job_id)
            return None if job is None else {**job, "failures": list(self.failures[job_id])}

    def start(self, job_id: str, total: int, ignored: int) -> None:
        with self.lock:
            job = self.jobs[job_id]
            if job["state"] == "queued":
                job.update(state="running", total=total, ignored=ignored, updatedAt=time.time())

    def finish_track(self, job_id: str, spotify_id: str, failure: dict[str, Any] | None = None) -> bool:
        with self.lock:
            if job_id not in self.jobs or spotify_id in self.finished[job_id]:
                return False
            self.finished[job_id].add(spotify_id)
            job = self.jobs[job_id]
            if failure is None:
                job["done"] += 1
            else:
                job["failed"] += 1
                if len(self.failures[job_id]) < MAX_FAILURES_LISTED:
                    self.failures[job_id].append(failure)
            job["updatedAt"] = time.time()
            return True

    def fail(self, job_id: str, error: str) -> None:
        with self.lock:
            job = self.jobs[job_id]
            job.update(state="failed", error=error, updatedAt=time.time())
            if self.active.get(job["userId"]) == job_id:
                del self.active[job["userId"]]

    def complete_if_finished(self, job_id: str) -> bool:
        with self.lock:
            job = self.jobs[job_id]
            if job["state"] != "running" or job["done"] + job["failed"] < job["total"]:
                return False
            job.update(state="done", updatedAt=time.time())
            if self.active.get(job["userId"]) == job_id:
                del self.active[job["userId"]]
            return True

    def put_token(self, token: str, ttl_s: int = TOKEN_TTL_S) -> str:
        ref = secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[ref] = (token, time.monotonic() + ttl_s)
        return ref

    def get_token(self, ref: str) -> str | None:
        with self.lock:
            token, expires = self.tokens.get(ref, (None, 0.0))
            return token if token is not None and time.monotonic() < expires else None

    def delete_token(self, ref: str) -> None:
        with self.lock:
            self.tokens.pop(ref, None)


_FINISH_TRACK = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
redis.call('HSET', KEYS[2], 'updatedAt', ARGV[3])
if ARGV[4] ~= '' then
  if redis.call('LLEN', KEYS[3]) < tonumber(ARGV[5]) then redis.call('RPUSH', KEYS[3], ARGV[4]) end
end
redis.call('EXPIRE', KEYS[1], ARGV[6]); redis.call('EXPIRE', KEYS[3], ARGV[6])
return 1
"""

# Create-or-join in one step: no other client can see the lock without the job behind it (which it would
# take for a stale lock and replace, starting a second job for the user).
_CREATE = """
local running = redis.call('GET', KEYS[1])
if running then
  local state = redis.call('HGET', ARGV[4] .. running, 'state')
  if state == 'queued' or state == 'running' then return {running, 0} end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('HSET', KEYS[2], unpack(ARGV, 5))
redis.call('EXPIRE', KEYS[2], ARGV[3])
return {ARGV[1], 1}
"""

_COMPLETE = """
local h = redis.call('HMGET', KEYS[1], 'state', 'done', 'failed', 'total', 'userId')
if h[1] ~= 'running' then return 0 end
if tonumber(h[2]) + tonumber(h[3]) < tonumber(h[4]) then return 0 end
redis.call('HSET', KEYS[1], 'state', 'done', 'updatedAt', ARGV[1])
local lock = ARGV[2] .. h[5]
if redis.call('GET', lock) == ARGV[3] then redis.call('DEL', lock) end
return 1
"""


class RedisJobs:
    """Job state in Redis: shared by API replicas and worker processes, survives worker restarts."""

    def __init__(self, redis, prefix: str = "musicrec"):
        self.r = redis
        self.p = prefix
        self._finish = redis.register_script(_FINISH_TRACK)
        self._complete = redis.register_script(_COMPLETE)
        self._create = redis.register_script(_CREATE)

    def _job(self, job_id: str) -> str:
        return f"{self.p}:job:{job_id}"

    def _lock(self, user_id: str) -> str:
        return f"{self.p}:user-job:{user_id}"

    def create(self, user_id: str) -> tuple[str, bool]:
        """The user's running job (joined), or a new one; atomic across API replicas."""
        job_id = str(uuid.uuid4())
        job = {**_new_job(job_id, user_id), "error": ""}
        fields = [str(x) for kv in job.items() for x in kv]
        found, created = self._create(
            keys=[self._lock(user_id), self._job(job_id)],
            args=[job_id, USER_LOCK_TTL_S, JOB_TTL_S, f"{self.p}:job:", *fields],
        )
        return found.decode(), bool(created)

    def get(self, job_id: str) -> dict[str, Any] | None:
        raw = self.r.hgetall(self._job(job_id))
        if not raw:
            return None
        job = {k.decode(): v.decode() for k, v in raw.items()}
        for key in ("total", "done", "failed", "ignored"):
            job[key] = int(job[key])
        for key in ("createdAt", "updatedAt"):
            job[key] = float(job[key])
        job["error"] = job["error"] or None
        job["failures"] = [json.loads(f) for f in self.r.lrange(f"{self._job(job_id)}:failures", 0, -1)]
        return job

    def start(self, job_id: str, total: int, ignored: int) -> None:
        # only the first start counts (a redelivered sync message must not reset progress)
        if self.r.hget(self._job(job_id), "state") == b"queued":
            self.r.hset(
                self._job(job_id),
                mapping={"state": "running", "total": total, "ignored": ignored, "updatedAt": time.time()},
            )

    def finish_track(self, job_id: str, spotify_id: str, failure: dict[str, Any] | None = None) -> bool:

        key = self._job(job_id)
        return bool(
            self._finish(
                keys=[f"{key}:finished", key, f"{key}:failures"],
                args=[
                    spotify_id,
                    "done" if failure is None else "failed",
                    time.time(),
                    json.dumps(failure) if failure is not None else "",
                    MAX_FAILURES_LISTED,
                    JOB_TTL_S,
                ],
            )
        )

    def fail(self, job_id: str, error: str) -> None:
        key = self._job(job_id)
        self.r.hset(key, mapping={"state": "failed", "error": error, "updatedAt": time.time()})
        user = self.r.hget(key, "userId")
        if user is not None and self.r.get(self._lock(user.decode())) == job_id.encode():
            self.r.delete(self._lock(user.decode()))

    def complete_if_finished(self, job_id: str) -> bool:
        return bool(self._complete(keys=[self._job(job_id)], args=[time.time(), f"{self.p}:user-job:", job_id]))

    def put_token(self, token: str, ttl_s: int = TOKEN_TTL_S) -> str:
        ref = secrets.token_urlsafe(24)
        self.r.set(f"{self.p}:token:{ref}", token, ex=ttl_s)
        return ref

    def get_token(self, ref: str) -> str | None:
        value = self.r.get(f"{self.p}:token:{ref}")
        return value.decode() if value is not None else None

    def delete_token(self, ref: str) -> None:
        self.r.delete(f"{self.p}:token:{ref}")


class Queue:
    """What the API needs to start work: a broker to enqueue actors by name, and the job store."""

    def __init__(self, broker: dramatiq.Broker, jobs: JobStore):
        self.broker = broker
        self.jobs = jobs
        for name in QUEUES:
            broker.declare_queue(name)

    def enqueue(self, actor_name: str, queue_name: str, *args: Any) -> None:
        self.broker.enqueue(
            dramatiq.Message(queue_name=queue_name, actor_name=actor_name, args=args, kwargs={}, options={})
        )


def make_broker(settings, *, heartbeat_ms: int = 60_000) -> dramatiq.Broker:
    """Redis broker when REDIS_URL is set, else an in-process one (embedded mode only)."""
    if settings.redis_url:
        from dramatiq.brokers.redis import RedisBroker

        # maintenance_chance is per million commands: 2 % keeps the requeueing of a dead worker's messages
        # within seconds of its heartbeat timeout, at the cost of a cheap sorted-set lookup.
        return RedisBroker(
            url=settings.redis_url,
            namespace=f"{settings.redis_prefix}:dramatiq",  # two deployments never share queues
            heartbeat_timeout=heartbeat_ms,
            maintenance_chance=20_000,
        )
    from dramatiq.brokers.stub import StubBroker

    return StubBroker()


def make_queue(settings, redis=None, *, heartbeat_ms: int = 60_000) -> Queue:
    broker = make_broker(settings, heartbeat_ms=heartbeat_ms)
    jobs: JobStore = RedisJobs(redis, prefix=settings.redis_prefix) if redis is not None else MemoryJobs()
    return Queue(broker, jobs)
