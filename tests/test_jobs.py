"""Job state on both backends (a real Redis, and in-process memory): counting once, joining, tokens."""

from __future__ import annotations

import uuid

import pytest
import redis

from service.sync.jobs import MAX_FAILURES_LISTED, MemoryJobs, RedisJobs


@pytest.fixture(params=["memory", "redis"])
def jobs(request):
    if request.param == "memory":
        yield MemoryJobs()
        return
    client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    yield RedisJobs(client, prefix=f"test-{uuid.uuid4().hex[:8]}")
    client.close()


def test_a_user_with_a_running_job_joins_it(jobs):
    job_id, created = jobs.create("alice")
    assert created and jobs.get(job_id)["state"] == "queued"
    again, created_again = jobs.create("alice")
    assert (again, created_again) == (job_id, False)
    other, created_other = jobs.create("bob")
    assert created_other and other != job_id
    jobs.start(job_id, total=1, ignored=0)
    jobs.finish_track(job_id, "t1")
    assert jobs.complete_if_finished(job_id)
    fresh, created = jobs.create("alice")  # the finished job no longer blocks a new one
    assert created and fresh != job_id


def test_tracks_count_once_and_progress_is_monotonic(jobs):
    job_id, _ = jobs.create("carol")
    jobs.start(job_id, total=3, ignored=2)
    jobs.start(job_id, total=99, ignored=99)  # a redelivered sync does not reset progress
    assert jobs.finish_track(job_id, "a")
    assert not jobs.finish_track(job_id, "a")  # redelivery
    assert not jobs.finish_track(job_id, "a", {"spotifyId": "a", "title": "A", "artists": [], "reason": "x"})
    assert not jobs.complete_if_finished(job_id)
    failure = {"spotifyId": "b", "title": "B", "artists": ["X"], "reason": "no confident match"}
    assert jobs.finish_track(job_id, "b", failure)
    assert jobs.finish_track(job_id, "c")
    job = jobs.get(job_id)
    assert (job["total"], job["done"], job["failed"], job["ignored"]) == (3, 2, 1, 2)
    assert job["failures"] == [failure]
    assert jobs.complete_if_finished(job_id) and jobs.get(job_id)["state"] == "done"
    assert not jobs.complete_if_finished(job_id)


def test_failures_listed_are_capped(jobs):
    job_id, _ = jobs.create("dave")
    jobs.start(job_id, total=150, ignored=0)
    for i in range(150):
        jobs.finish_track(job_id, f"t{i}", {"spotifyId": f"t{i}", "title": "", "artists": [], "reason": "bad"})
    job = jobs.get(job_id)
    assert job["failed"] == 150 and len(job["failures"]) == MAX_FAILURES_LISTED


def test_job_failure_and_tokens(jobs):
    job_id, _ = jobs.create("erin")
    jobs.fail(job_id, "Spotify rejected the token")
    job = jobs.get(job_id)
    assert job["state"] == "failed" and job["error"] == "Spotify rejected the token"
    assert jobs.create("erin")[1]  # a failed job does not block the next one
    ref = jobs.put_token("secret-token-value")
    assert "secret" not in ref and jobs.get_token(ref) == "secret-token-value"
    jobs.delete_token(ref)
    assert jobs.get_token(ref) is None
    assert jobs.get("no-such-job") is None


def test_concurrent_creation_across_replicas_makes_one_job_per_user(redis_url):
    # Many API replicas (own clients, own threads) start the same users' syncs at once: each user gets
    # exactly one job, and every caller is told that job's id.
    from concurrent.futures import ThreadPoolExecutor

    clients = [redis.Redis.from_url(redis_url) for _ in range(8)]
    prefix = f"race-{uuid.uuid4().hex[:8]}"
    replicas = [RedisJobs(c, prefix=prefix) for c in clients]
    users = [f"user{i}" for i in range(30)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: (users[i % 30], replicas[i % 8].create(users[i % 30])), range(240)))
    for user in users:
        ids = {job_id for u, (job_id, _) in answers if u == user}
        created = sum(made for u, (_, made) in answers if u == user)
        assert len(ids) == 1 and created == 1, (user, ids, created)
    for c in clients:
        c.close()


class Interleaved(redis.Redis):
    """A client that lets another replica act right after its next command (between two of its steps)."""

    hook = None

    def execute_command(self, *args, **options):
        result = super().execute_command(*args, **options)
        hook, self.hook = self.hook, None
        if hook is not None:
            hook()
        return result


def test_a_replica_creating_a_job_between_another_ones_steps_joins_it(redis_url):
    prefix = f"interleave-{uuid.uuid4().hex[:8]}"
    a = RedisJobs(Interleaved.from_url(redis_url), prefix=prefix)
    b = RedisJobs(redis.Redis.from_url(redis_url), prefix=prefix)
    a.create("warm-up")  # any one-off setup commands (script loading) out of the way
    seen_by_b = []
    a.r.hook = lambda: seen_by_b.append(b.create("alice"))
    job_a, created_a = a.create("alice")
    assert seen_by_b, "replica B ran between A's steps"
    job_b, created_b = seen_by_b[0]
    assert created_a and not created_b and job_a == job_b


def test_two_deployments_sharing_one_redis_never_see_each_others_work(redis_url, tmp_path):
    from service.settings import Settings
    from service.sync.jobs import make_queue

    client = redis.Redis.from_url(redis_url)
    queues = {
        name: make_queue(
            Settings.from_env(
                {"REDIS_URL": redis_url, "MUSICREC_REDIS_PREFIX": name, "MUSICREC_DATA_DIR": str(tmp_path)}
            ),
            client,
        )
        for name in ("blue", "green")
    }
    blue, green = queues["blue"], queues["green"]
    job_blue, _ = blue.jobs.create("alice")
    job_green, created = green.jobs.create("alice")
    assert created and job_green != job_blue  # each deployment runs its own sync of alice
    assert green.jobs.get(job_blue) is None and blue.jobs.get(job_green) is None
    blue.enqueue("sync_library", "spotify", job_blue, "alice", "ref")
    green_consumer = green.broker.consume("spotify", prefetch=1, timeout=100)
    blue_consumer = blue.broker.consume("spotify", prefetch=1, timeout=100)
    try:
        assert next(green_consumer) is None  # nothing for green
        message = next(blue_consumer)
        assert message is not None and message.args[0] == job_blue
        blue_consumer.ack(message)
    finally:
        green_consumer.close()
        blue_consumer.close()
    keys = {k.decode() for k in client.keys("*")}
    assert keys and all(k.startswith(("blue:", "green:")) for k in keys), keys
    client.close()


def test_a_bad_redis_prefix_is_a_clear_config_error():
    from service.errors import ConfigError
    from service.settings import Settings

    with pytest.raises(ConfigError, match="MUSICREC_REDIS_PREFIX"):
        Settings.from_env({"MUSICREC_REDIS_PREFIX": "a b*"})
