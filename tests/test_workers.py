"""Workers do what the queues promise: actors bound to the current broker, limits shared across
processes through Redis, `musicrec worker --queues`."""

from __future__ import annotations

import contextlib

import pytest
import redis
from dramatiq.brokers.stub import StubBroker

from service.settings import Settings
from service.store import open_store
from service.sync.jobs import MemoryJobs, Queue
from workers import limits


def test_actors_follow_the_broker_of_the_latest_setup(tmp_path):
    from workers import actors
    from workers.setup import setup

    settings = Settings(data_dir=tmp_path, qdrant_url=":memory:")
    store = open_store(settings)
    try:
        first, second = Queue(StubBroker(), MemoryJobs()), Queue(StubBroker(), MemoryJobs())
        setup(settings, store=store, queue=first)
        setup(settings, store=store, queue=second)
        assert all(actor.broker is second.broker for actor in actors.ACTORS)
        assert {a.actor_name for a in actors.ACTORS} <= set(second.broker.actors)
        actors.match_track.send("job", "user", {}, [])
        assert second.broker.queues["youtube"].qsize() == 1 and first.broker.queues["youtube"].qsize() == 0
    finally:
        store.close()


def test_spotify_reads_are_limited_across_processes(redis_url):
    # two "processes" (own clients, own limiter objects) share the limit through Redis
    a = limits.Limits.create(redis.Redis.from_url(redis_url), prefix="lim")
    b = limits.Limits.create(redis.Redis.from_url(redis_url), prefix="lim")
    ran, resent = [], []
    with contextlib.ExitStack() as held:
        for _ in range(limits.SPOTIFY_CONCURRENT):
            assert held.enter_context(a.spotify.acquire(raise_on_failure=False))
        assert not limits.run_limited(b.spotify, lambda: ran.append(1), resent.append)
        assert ran == [] and resent == [limits.RESEND_DELAY_MS]
    assert limits.run_limited(b.spotify, lambda: ran.append(1), resent.append)  # slots free again
    assert ran == [1]


def test_youtube_matches_are_limited_per_second(redis_url):
    lim = limits.Limits.create(redis.Redis.from_url(redis_url), prefix="yt")
    outcomes = [limits.run_limited(lim.youtube, lambda: None, lambda _: None) for _ in range(50)]
    # all 50 within a second or two: at most a few buckets' worth may run
    assert 0 < sum(outcomes) <= 3 * limits.YOUTUBE_PER_SECOND


def test_worker_queues_option(monkeypatch, tmp_path):
    from service.cli import main as cli

    seen = []
    monkeypatch.setattr(cli.os, "execv", lambda exe, argv: seen.append(argv))
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("QDRANT_URL", "http://127.0.0.1:1")
    assert cli.main(["worker", "--queues", "cpu", "--processes", "1"]) == 0
    argv = seen[0]
    assert argv[argv.index("--queues") + 1 :] == ["cpu"]
    assert cli.main(["worker", "--queues", "cpu,gpu"]) == 2


@pytest.mark.parametrize("queues", ["spotify", "youtube,cpu"])
def test_worker_queues_pass_through(monkeypatch, queues):
    from service.cli import main as cli

    seen = []
    monkeypatch.setattr(cli.os, "execv", lambda exe, argv: seen.append(argv))
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("QDRANT_URL", "http://127.0.0.1:1")
    cli.main(["worker", "--queues", queues])
    assert seen[0][seen[0].index("--queues") + 1 :] == queues.split(",")


def test_an_unreachable_spotify_says_why():
    """The job's error and the log line say why Spotify could not be read (connection refused, DNS…), not only the
    exception's class, and the error of a job whose retries ran out carries the last attempt's reason."""
    import traceback

    import dramatiq

    from service.sync.spotify import SpotifyError, SpotifyReader
    from service.tools.procs import free_port
    from workers.actors import last_reason

    reader = SpotifyReader("a-token", f"http://127.0.0.1:{free_port()}/v1", timeout=5)
    with pytest.raises(SpotifyError) as err:
        reader.read_library()
    assert err.value.retryable and "connection refused" in err.value.message and "a-token" not in err.value.message
    try:  # what the actor raises for a retryable error: one log line, no trace; Dramatiq keeps this traceback
        raise dramatiq.Retry(err.value.message)
    except dramatiq.Retry:
        kept = traceback.format_exc(limit=30)
    assert last_reason({"options": {"traceback": kept}}) == err.value.message
    assert last_reason({"options": {}}) == "" and last_reason({}) == ""
