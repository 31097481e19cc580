"""Settings: the environment is read once, here, into one immutable struct that is passed around."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import msgspec
import platformdirs

from service.errors import ConfigError

DEFAULT_SPOTIFY_API_URL = "https://api.spotify.com/v1"
DEFAULT_YOUTUBE_API_URL = "https://www.googleapis.com"
DEFAULT_MEDIA_URL_TEMPLATE = "https://www.youtube.com/watch?v={videoId}"

REDIS_PREFIX = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def without_credentials(url: str) -> str:
    """A URL fit for messages and logs: any user:password@ part left out."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        return parts._replace(netloc=(parts.hostname or "") + (f":{parts.port}" if parts.port else "")).geturl()
    return url


_ON = {"1", "true", "yes", "on"}
_OFF = {"0", "false", "no", "off"}


def _split_csv(raw: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (raw or "").split(",") if part.strip())


def _number(env: Mapping[str, str], name: str, default: float, *, minimum: float) -> float:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return float(default)
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None
    if not value >= minimum or value == float("inf"):
        raise ConfigError(f"{name} must be a finite number of at least {minimum:g}, not {raw!r}")
    return value


def default_data_dir() -> Path:
    """The platform's user data dir (e.g. ~/.local/share/musicrec); MUSICREC_DATA_DIR overrides it."""
    return platformdirs.user_data_path("musicrec", appauthor=False)


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    data_dir: Path = msgspec.field(default_factory=default_data_dir)
    qdrant_url: str | None = None
    qdrant_api_key: str | None = None
    redis_url: str | None = None
    # every Redis key and Dramatiq queue of this deployment starts with it: deployments can share a Redis
    redis_prefix: str = "musicrec"
    api_keys: tuple[str, ...] = ()
    # browser origins allowed to call the API from another site (CORS); empty = CORS off, "*" = any
    cors_origins: tuple[str, ...] = ()
    auth: str = "required"  # "required" | "disabled"
    spotify_api_url: str = DEFAULT_SPOTIFY_API_URL
    youtube_api_url: str = DEFAULT_YOUTUBE_API_URL
    youtube_api_keys: tuple[str, ...] = ()
    media_url_template: str = DEFAULT_MEDIA_URL_TEMPLATE
    # only the analysis windows are decoded, so long files cost little more than short ones: 4 hours
    max_track_seconds: float = 14_400.0
    # how long a dead worker's unacknowledged messages wait before Redis hands them to another worker
    broker_heartbeat_ms: int = 60_000
    # "required": a QDRANT_URL without QDRANT_API_KEY is refused (the compose deployment sets it)
    qdrant_auth: str = "optional"
    # a file's analysis taking longer is reported failed and its worker process replaced
    analysis_timeout_s: float = 120.0
    # the embedded store refuses to start, and writes are refused, with less free space than this
    min_free_mb: int = 256
    # the embedded store flushes written shards to disk this often (0 = only at batch/job ends and close)
    flush_interval_s: float = 1.0
    # the learned embedding (musicnn_v2) beside the DSP features; off: a faster, DSP-only analysis and queries
    embedding: bool = True

    @property
    def embedded(self) -> bool:
        return not self.qdrant_url

    @property
    def auth_disabled(self) -> bool:
        return self.auth == "disabled"

    def __repr__(self) -> str:  # secrets never end up in logs through a repr
        return (
            f"Settings(data_dir={str(self.data_dir)!r}, qdrant_url={self.qdrant_url!r}, "
            f"redis_url={'set' if self.redis_url else None}, api_keys={len(self.api_keys)} key(s), "
            f"auth={self.auth!r}, youtube_api_keys={len(self.youtube_api_keys)} key(s))"
        )

    __str__ = __repr__

    def check_auth(self) -> None:
        """Refuse to serve without keys unless auth was turned off explicitly."""
        if self.auth not in ("required", "disabled"):
            raise ConfigError(f"MUSICREC_AUTH must be 'required' or 'disabled', not {self.auth!r}")
        if self.auth == "required" and not self.api_keys:
            raise ConfigError(
                "no API keys configured: set MUSICREC_API_KEYS=key1,key2 "
                "(or MUSICREC_AUTH=disabled to run without auth, e.g. on your own machine)"
            )

    def check_qdrant_auth(self) -> None:
        if self.qdrant_auth not in ("optional", "required"):
            raise ConfigError(f"MUSICREC_QDRANT_AUTH must be 'optional' or 'required', not {self.qdrant_auth!r}")
        if self.qdrant_url and self.qdrant_auth == "required" and not self.qdrant_api_key:
            raise ConfigError(
                "QDRANT_API_KEY is not set, and this deployment requires it (MUSICREC_QDRANT_AUTH=required): "
                "set it (compose gives the same key to Qdrant as QDRANT__SERVICE__API_KEY)"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        try:
            max_track_seconds = float(env.get("MUSICREC_MAX_TRACK_SECONDS", "14400"))
        except ValueError as exc:
            raise ConfigError("MUSICREC_MAX_TRACK_SECONDS must be a number of seconds") from exc
        if max_track_seconds <= 0:
            raise ConfigError("MUSICREC_MAX_TRACK_SECONDS must be positive")
        try:
            heartbeat = int(env.get("MUSICREC_BROKER_HEARTBEAT_MS", "60000"))
        except ValueError as exc:
            raise ConfigError("MUSICREC_BROKER_HEARTBEAT_MS must be a whole number of milliseconds") from exc
        analysis_timeout_s = _number(env, "MUSICREC_ANALYSIS_TIMEOUT_S", 120.0, minimum=1.0)
        min_free_mb = int(_number(env, "MUSICREC_MIN_FREE_MB", 256, minimum=0))
        flush_interval_s = _number(env, "MUSICREC_FLUSH_INTERVAL_S", 1.0, minimum=0.0)
        embedding = (env.get("MUSICREC_EMBEDDING") or "1").strip().lower()
        if embedding not in _ON | _OFF:
            raise ConfigError("MUSICREC_EMBEDDING must be 1 or 0 (on or off)")
        prefix = env.get("MUSICREC_REDIS_PREFIX") or "musicrec"
        if not REDIS_PREFIX.fullmatch(prefix):
            raise ConfigError("MUSICREC_REDIS_PREFIX may hold letters, digits, '-', '_' and '.' (1-64 of them)")
        return cls(
            broker_heartbeat_ms=heartbeat,
            redis_prefix=prefix,
            data_dir=Path(env.get("MUSICREC_DATA_DIR") or default_data_dir()).expanduser().absolute(),
            qdrant_url=env.get("QDRANT_URL") or None,
            qdrant_api_key=env.get("QDRANT_API_KEY") or None,
            redis_url=env.get("REDIS_URL") or None,
            api_keys=_split_csv(env.get("MUSICREC_API_KEYS")),
            cors_origins=_split_csv(env.get("MUSICREC_CORS_ORIGINS")),
            auth=(env.get("MUSICREC_AUTH") or "required").strip().lower(),
            spotify_api_url=(env.get("MUSICREC_SPOTIFY_API_URL") or DEFAULT_SPOTIFY_API_URL).rstrip("/"),
            youtube_api_url=(env.get("MUSICREC_YOUTUBE_API_URL") or DEFAULT_YOUTUBE_API_URL).rstrip("/"),
            youtube_api_keys=_split_csv(env.get("MUSICREC_YOUTUBE_API_KEYS")),
            media_url_template=env.get("MUSICREC_MEDIA_URL_TEMPLATE") or DEFAULT_MEDIA_URL_TEMPLATE,
            max_track_seconds=max_track_seconds,
            qdrant_auth=(env.get("MUSICREC_QDRANT_AUTH") or "optional").strip().lower(),
            analysis_timeout_s=analysis_timeout_s,
            min_free_mb=min_free_mb,
            flush_interval_s=flush_interval_s,
            embedding=embedding in _ON,
        )
