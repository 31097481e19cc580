"""HTTP edges a user meets first: HEAD /healthz, CORS (off by default, preflights answered without a key when
on), and 401 messages that say what is wrong (TestClient over the ingested library)."""

from __future__ import annotations

import msgspec
import pytest
from conftest import API_KEY, AUTH
from litestar.testing import TestClient

from service.api.app import create_app
from service.settings import Settings

ORIGIN = "https://player.example"


@pytest.fixture(scope="module")
def cors_client(ingested):
    settings, store = ingested
    with TestClient(create_app(msgspec.structs.replace(settings, cors_origins=(ORIGIN,)), store=store)) as c:
        yield c


def preflight(client, path: str, origin: str = ORIGIN, method: str = "GET"):
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    return client.options(path, headers=headers)


def test_head_healthz_is_200_without_a_body(client):
    done = client.head("/healthz")
    assert done.status_code == 200 and done.content == b""
    assert client.get("/healthz").json()["status"] == "ok"


def test_cors_is_read_from_the_environment_and_off_by_default():
    assert Settings.from_env({}).cors_origins == ()
    both = Settings.from_env({"MUSICREC_CORS_ORIGINS": " https://a.example, https://b.example ,"})
    assert both.cors_origins == ("https://a.example", "https://b.example")


def test_without_cors_no_origin_is_allowed(client):
    done = client.get("/v1/tracks", headers={**AUTH, "Origin": ORIGIN})
    assert done.status_code == 200 and "access-control-allow-origin" not in done.headers
    assert preflight(client, "/v1/tracks").status_code == 401  # no CORS: an OPTIONS on /v1 is an API call


def test_a_cors_preflight_is_answered_without_a_key(cors_client):
    for path, method in (("/v1/tracks", "GET"), ("/v1/recommendations", "POST"), ("/recommend", "POST")):
        done = preflight(cors_client, path, method=method)
        assert done.status_code == 204, (path, done.status_code, done.text)
        assert done.headers["access-control-allow-origin"] == ORIGIN
        allowed = {h.strip().lower() for h in done.headers["access-control-allow-headers"].split(",")}
        assert {"authorization", "content-type"} <= allowed
    other = preflight(cors_client, "/v1/tracks", origin="https://evil.example")
    assert other.status_code == 400 and "access-control-allow-origin" not in other.headers


def test_with_cors_calls_still_need_the_key_and_carry_the_cors_headers(cors_client):
    ok = cors_client.get("/v1/tracks", headers={**AUTH, "Origin": ORIGIN})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == ORIGIN
    assert "Retry-After" in ok.headers["access-control-expose-headers"]
    refused = cors_client.get("/v1/tracks", headers={"Origin": ORIGIN})
    assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == ORIGIN
    # an OPTIONS that is not a preflight (no Access-Control-Request-Method) is no way around the key
    assert cors_client.options("/v1/tracks", headers={"Origin": "x"}).status_code in (400, 401)
    assert API_KEY not in refused.text


def test_a_bare_key_on_v1_is_told_that_bearer_is_missing(client):
    bare = client.get("/v1/tracks", headers={"Authorization": API_KEY})
    assert bare.status_code == 401
    assert '"Bearer" scheme is missing' in bare.json()["error"]["message"]
    assert "missing API key" in client.get("/v1/tracks").json()["error"]["message"]
    assert client.get("/v1/tracks", headers={"Authorization": "Bearer nope"}).json()["error"]["message"] == (
        "invalid API key"
    )
    assert client.get("/v1/tracks", headers=AUTH).status_code == 200


def test_save_data_errors_name_its_own_token_header(client):
    """The previous API's /save-data takes the token as `Spotify-Token`: its errors say that, not X-Spotify-Token."""
    legacy = {"Authorization": API_KEY}
    missing = client.post("/save-data", json={"user_id": "u"}, headers=legacy)
    assert missing.status_code == 400 and "'Spotify-Token'" in missing.json()["error"]["message"]
    malformed = client.post("/save-data", json={"user_id": "u"}, headers={**legacy, "Spotify-Token": "a b"})
    assert malformed.status_code == 400 and malformed.json()["error"]["details"]["fields"] == ["Spotify-Token"]
    assert "X-Spotify-Token" not in missing.text + malformed.text
