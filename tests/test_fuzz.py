"""The API fuzzed against its own OpenAPI document (schemathesis, bounded and seeded): no 5xx, and status
codes, content types and bodies as documented. A real `musicrec serve` over a small ingested library."""

from __future__ import annotations

import os

import pytest
import schemathesis
from conftest import API_KEY, AUTH, run_cli
from hypothesis import HealthCheck, given, settings

from service.tools.procs import ServeProcess, free_port


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory, music_dir):
    data = tmp_path_factory.mktemp("fuzz")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MUSICREC_", "QDRANT_", "REDIS_"))}
    dead = f"http://127.0.0.1:{free_port()}"  # nothing leaves this machine, even if a job started
    env.update(
        MUSICREC_DATA_DIR=str(data / "store"),
        MUSICREC_API_KEYS=API_KEY,
        MUSICREC_SPOTIFY_API_URL=dead,
        MUSICREC_YOUTUBE_API_URL=dead,
        MUSICREC_MEDIA_URL_TEMPLATE=dead + "/{videoId}",
    )
    ingested = run_cli("ingest", str(music_dir), env=env, timeout=300)
    assert ingested.returncode == 0, ingested.stderr
    server = ServeProcess(env, data / "serve.log").start()
    try:
        yield schemathesis.openapi.from_url(f"{server.url}/schema/openapi.json")
    finally:
        server.stop()


RANGES = (("tempoMin", "tempoMax"), ("yearMin", "yearMax"), ("durationMinS", "durationMaxS"))


def within_documented_rules(case) -> bool:
    """The one rule JSON Schema cannot say and the document says in words: a range's minimum is not above its
    maximum (such a request is a 400 naming the field: tests/test_filters.py). Generated cases that break it are
    not 'schema-valid requests rejected'."""
    places = [case.query or {}]
    if isinstance(case.body, dict):
        places += [case.body, case.body.get("filter") or {}]
    for place in places:
        if not isinstance(place, dict):
            continue
        for lo, hi in RANGES:
            a, b = place.get(lo), place.get(hi)
            if isinstance(a, int | float) and isinstance(b, int | float) and a > b:
                return False
    return True


def test_every_operation_holds_up_to_generated_requests(api_schema):
    failures = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:

        @settings(
            max_examples=25, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        @given(case=operation.as_strategy().filter(within_documented_rules))
        def check(case):
            case.call_and_validate(headers=AUTH)

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:  # collect every operation's first failure, then report them all
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)
