"""Rate limits shared by every worker process of a deployment (Dramatiq's limiters, Redis-backed).

Spotify: at most SPOTIFY_CONCURRENT library reads at once (Spotify rate-limits per app, and a read is a
few hundred requests). YouTube Data API: at most YOUTUBE_PER_SECOND matches started per second (the daily
quota itself is counted by the quota ledger). A step that finds no free slot is sent again a little later
as a new message, so waiting for a slot never spends one of its retries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dramatiq.rate_limits import BucketRateLimiter, ConcurrentRateLimiter, RateLimiter
from dramatiq.rate_limits.backends import RedisBackend, StubBackend

SPOTIFY_CONCURRENT = 2
YOUTUBE_PER_SECOND = 5
RESEND_DELAY_MS = 2000


@dataclass
class Limits:
    spotify: RateLimiter
    youtube: RateLimiter

    @classmethod
    def create(cls, redis=None, prefix: str = "musicrec") -> Limits:
        backend = RedisBackend(client=redis) if redis is not None else StubBackend()
        return cls(
            spotify=ConcurrentRateLimiter(
                backend, f"{prefix}:limit:spotify", limit=SPOTIFY_CONCURRENT, ttl=30 * 60_000
            ),
            youtube=BucketRateLimiter(backend, f"{prefix}:limit:youtube", limit=YOUTUBE_PER_SECOND, bucket=1000),
        )


def run_limited(limiter: RateLimiter, step: Callable[[], None], resend: Callable[[int], None]) -> bool:
    """Run `step` inside the limiter; with no free slot call `resend(delay_ms)` instead. True if it ran."""
    with limiter.acquire(raise_on_failure=False) as acquired:
        if acquired:
            step()
            return True
    resend(RESEND_DELAY_MS)
    return False
